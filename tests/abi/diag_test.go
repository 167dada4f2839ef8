package abi

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

func diag(t *testing.T, what int32) int64 {
	t.Helper()
	var v int64 = -12345
	if rc := lib.diag(what, &v); rc != cOK {
		t.Fatalf("diag(%d): rc %d (%s) %q", what, rc, lib.errorName(rc), lib.lastError())
	}
	return v
}

func TestDiagFigures(t *testing.T) {
	need(t)
	lockThread(t)
	if v := diag(t, diagFPSelftest); v != 1 {
		t.Errorf("FP_SELFTEST = %d, want 1", v)
	}
	// The Go runtime has started (the call above waited for it): its
	// threads went through lipc's pthread_create wrapper.
	if v := diag(t, diagThreadsWrapped); v <= 0 {
		t.Errorf("THREADS_WRAPPED = %d, want > 0", v)
	}
	if v := diag(t, diagHostNofile); v <= 0 {
		t.Errorf("HOST_NOFILE = %d, want > 0", v)
	} else if preNofileOK && uint64(v) != preNofile.Cur {
		t.Errorf("HOST_NOFILE = %d, the host's soft limit before load was %d", v, preNofile.Cur)
	}
	if v := diag(t, diagStackLookups); v < 0 {
		t.Errorf("STACK_LOOKUPS = %d", v)
	}
	if v := diag(t, diagLiveHandles); v < 0 {
		t.Errorf("LIVE_HANDLES = %d", v)
	}
	if v := diag(t, diagCallMode); v != int64(modeDirect) {
		t.Errorf("CALL_MODE = %d at start, want DIRECT (%d)", v, modeDirect)
	}
	for _, what := range []int32{0, -1, 9, 1000} {
		var v int64 = 77
		check(t, "diag(unknown)", lib.diag(what, &v), cEINVAL)
		if v != 77 {
			t.Errorf("diag(%d) failed but wrote %d", what, v)
		}
	}
	check(t, "diag(NULL)", lib.diag(diagCallMode, nil), cEINVAL)
	check(t, "diag(FP_SELFTEST, NULL)", lib.diag(diagFPSelftest, nil), cEINVAL)
}

// The host's soft RLIMIT_NOFILE is what it was before load (F18), and the
// host's SIGURG handler is back in place (F5).
func TestHostStateGivenBack(t *testing.T) {
	need(t)
	var now syscall.Rlimit
	if preNofileOK && syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now) == nil && now.Cur != preNofile.Cur {
		t.Errorf("soft RLIMIT_NOFILE is %d after load, was %d", now.Cur, preNofile.Cur)
	}
	if h := sigurgHandler(); h != preSigurg {
		t.Errorf("SIGURG handler is %#x after load, the host had %#x", h, preSigurg)
	}
}

func TestCallModes(t *testing.T) {
	need(t)
	lockThread(t)
	defer lib.setCallMode(modeDirect)
	if v := diag(t, diagGoThread); v != 0 {
		t.Errorf("GO_THREAD = %d in direct mode, want 0", v)
	}
	setMode(t, modeHandoff)
	if v := diag(t, diagCallMode); v != int64(modeHandoff) {
		t.Errorf("CALL_MODE = %d after set_call_mode(HANDOFF)", v)
	}
	if v := diag(t, diagGoThread); v != 1 {
		t.Errorf("GO_THREAD = %d in handoff mode, want 1", v)
	}
	if v := diag(t, diagFPSelftest); v != 1 {
		t.Errorf("FP_SELFTEST = %d in handoff mode", v)
	}
	// Errors made on a lipc thread are reported on the caller's thread.
	var h int64
	f := check(t, "sem_open bad name (handoff)", lib.semOpen("bad name!", flCreate, 0, 0, &h), cEINVAL)
	if f.errno != int32(syscall.EINVAL) || !strings.Contains(f.msg, `"bad name!"`) {
		t.Errorf("handoff error: %s", f)
	}
	for _, m := range []int32{99, 0, -1, 3} {
		check(t, "set_call_mode(unknown)", lib.setCallMode(m), cEINVAL)
	}
	if v := diag(t, diagCallMode); v != int64(modeHandoff) {
		t.Errorf("a refused set_call_mode changed the mode to %d", v)
	}
	setMode(t, modeDirect)
	if v := diag(t, diagGoThread); v != 0 {
		t.Errorf("GO_THREAD = %d back in direct mode", v)
	}
}

// LIPC_CALL_MODE=handoff in the environment chooses handoff at load.
func TestCallModeFromEnvironment(t *testing.T) {
	need(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ env, want string }{
		{"LIPC_CALL_MODE=handoff", "mode=2 go_thread=1"},
		{"LIPC_CALL_MODE=", "mode=1 go_thread=0"},
	} {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), "LIPC_ABI_HELPER=mode", "LIPC_LIBRARY="+libPath, c.env)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: helper: %v", c.env, err)
		}
		if got := strings.TrimSpace(string(out)); got != c.want {
			t.Errorf("%s: helper says %q, want %q", c.env, got, c.want)
		}
	}
}
