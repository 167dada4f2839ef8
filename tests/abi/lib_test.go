package abi

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"
)

// The C API as a C user sees it. One field per function of include/lipc.h.
type api struct {
	version     func() string
	strerror    func(code int32) string
	errorName   func(code int32) string
	lastError   func() string
	errno       func() int32
	free        func(p unsafe.Pointer)
	close       func(h int64) int32
	handleKind  func(h int64, kind *int32) int32
	waitFds     func(fds, events, revents *int32, nfds int32, timeoutMs int64, nready *int32) int32
	semOpen     func(name string, flags int32, mode, value uint32, h *int64) int32
	semPost     func(h int64) int32
	semWait     func(h int64, timeoutMs int64) int32
	semValue    func(h int64, value *int32) int32
	semUnlink   func(name string) int32
	setCallMode func(mode int32) int32
	diag        func(what int32, value *int64) int32

	// The same symbols, declared to pass NULL where the above take strings
	// or to keep the returned pointer itself.
	semOpenPtr   func(name *byte, flags int32, mode, value uint32, h *int64) int32
	semUnlinkPtr func(name *byte) int32
	lastErrorPtr func() *byte
}

var (
	lib       *api
	libPath   string
	loadErr   error // why lib is nil
	libAbsent bool  // the library file does not exist (skip unless required)

	// What the host had before the library was loaded.
	preSigurg   uintptr // SIGURG handler address
	preNofile   syscall.Rlimit
	preNofileOK bool

	hdr *header
)

// header is what the tests read from include/lipc.h.
type header struct {
	defines map[string]int64  // every integer #define
	codes   []string          // the LIPC_E* / LIPC_OK error codes, in order
	strs    map[string]string // string #defines
}

func here() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

func findLibrary() string {
	if p := os.Getenv("LIPC_LIBRARY"); p != "" {
		return p
	}
	return filepath.Join(here(), "..", "..", "build", "liblipc.so")
}

func load() {
	path := findLibrary()
	libPath = path
	if _, err := os.Stat(path); err != nil {
		libAbsent = true
		loadErr = fmt.Errorf("lipc library not found at %s (LIPC_LIBRARY=%q): %v; run `make` in the repository root",
			path, os.Getenv("LIPC_LIBRARY"), err)
		return
	}
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		loadErr = fmt.Errorf("dlopen %s: %v", path, err)
		return
	}
	a := &api{}
	reg := func(fptr any, name string) {
		if err == nil {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("symbol %s: %v", name, p)
				}
			}()
			purego.RegisterLibFunc(fptr, h, name)
		}
	}
	reg(&a.version, "lipc_version")
	reg(&a.strerror, "lipc_strerror")
	reg(&a.errorName, "lipc_error_name")
	reg(&a.lastError, "lipc_last_error")
	reg(&a.errno, "lipc_errno")
	reg(&a.free, "lipc_free")
	reg(&a.close, "lipc_close")
	reg(&a.handleKind, "lipc_handle_kind")
	reg(&a.waitFds, "lipc_wait_fds")
	reg(&a.semOpen, "lipc_sem_open")
	reg(&a.semPost, "lipc_sem_post")
	reg(&a.semWait, "lipc_sem_wait")
	reg(&a.semValue, "lipc_sem_value")
	reg(&a.semUnlink, "lipc_sem_unlink")
	reg(&a.setCallMode, "lipc_set_call_mode")
	reg(&a.diag, "lipc_diag")
	reg(&a.semOpenPtr, "lipc_sem_open")
	reg(&a.semUnlinkPtr, "lipc_sem_unlink")
	reg(&a.lastErrorPtr, "lipc_last_error")
	if err != nil {
		loadErr = err
		return
	}
	lib = a
}

func readHeader() (*header, error) {
	f, err := os.Open(filepath.Join(here(), "..", "..", "include", "lipc.h"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := &header{defines: map[string]int64{}, strs: map[string]string{}}
	num := regexp.MustCompile(`^#define\s+(LIPC_\w+)\s+\(?(-?\d+)\)?(\s|$)`)
	str := regexp.MustCompile(`^#define\s+(LIPC_\w+)\s+"([^"]*)"`)
	inCodes := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "Error codes") {
			inCodes = true
		}
		if m := str.FindStringSubmatch(line); m != nil {
			h.strs[m[1]] = m[2]
			continue
		}
		m := num.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		v, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			return nil, err
		}
		h.defines[m[1]] = v
		if inCodes {
			if m[1] == "LIPC_EOS_BASE" {
				inCodes = false
				continue
			}
			h.codes = append(h.codes, m[1])
		}
	}
	if len(h.codes) < 17 {
		return nil, fmt.Errorf("parsed only %d error codes from lipc.h: %v", len(h.codes), h.codes)
	}
	return h, sc.Err()
}

// def gives a #define of the header; the test fails if it is missing.
func def(t *testing.T, name string) int64 {
	t.Helper()
	v, ok := hdr.defines[name]
	if !ok {
		t.Fatalf("include/lipc.h has no #define %s", name)
	}
	return v
}

// Frequently used values, read from the header in TestMain.
var (
	cOK, cEINVAL, cEBADHANDLE, cENOENT, cEEXIST, cEPERM int32
	cETIMEDOUT, cEINTR, cEAGAIN, cENAMETOOLONG, cERANGE int32
	cOSBase                                             int32
	kindSem                                             int32
	flCreate, flExcl, flUnlinkOnClose                   int32
	waitRead, waitWrite, waitHup, waitErr               int32
	diagCallMode, diagHostNofile, diagThreadsWrapped    int32
	diagStackLookups, diagFPSelftest, diagGoThread      int32
	diagLiveHandles, modeDirect, modeHandoff            int32
)

func setConstants() error {
	var missing []string
	get := func(name string) int32 {
		v, ok := hdr.defines[name]
		if !ok {
			missing = append(missing, name)
		}
		return int32(v)
	}
	cOK, cEINVAL, cEBADHANDLE = get("LIPC_OK"), get("LIPC_EINVAL"), get("LIPC_EBADHANDLE")
	cENOENT, cEEXIST, cEPERM = get("LIPC_ENOENT"), get("LIPC_EEXIST"), get("LIPC_EPERM")
	cETIMEDOUT, cEINTR, cEAGAIN = get("LIPC_ETIMEDOUT"), get("LIPC_EINTR"), get("LIPC_EAGAIN")
	cENAMETOOLONG, cERANGE, cOSBase = get("LIPC_ENAMETOOLONG"), get("LIPC_ERANGE"), get("LIPC_EOS_BASE")
	kindSem = get("LIPC_KIND_SEM")
	flCreate, flExcl, flUnlinkOnClose = get("LIPC_CREATE"), get("LIPC_EXCL"), get("LIPC_UNLINK_ON_CLOSE")
	waitRead, waitWrite = get("LIPC_WAIT_READ"), get("LIPC_WAIT_WRITE")
	waitHup, waitErr = get("LIPC_WAIT_HUP"), get("LIPC_WAIT_ERR")
	diagCallMode, diagHostNofile = get("LIPC_DIAG_CALL_MODE"), get("LIPC_DIAG_HOST_NOFILE")
	diagThreadsWrapped, diagStackLookups = get("LIPC_DIAG_THREADS_WRAPPED"), get("LIPC_DIAG_STACK_LOOKUPS")
	diagFPSelftest, diagGoThread = get("LIPC_DIAG_FP_SELFTEST"), get("LIPC_DIAG_GO_THREAD")
	diagLiveHandles = get("LIPC_DIAG_LIVE_HANDLES")
	modeDirect, modeHandoff = get("LIPC_CALL_DIRECT"), get("LIPC_CALL_HANDOFF")
	if missing != nil {
		return fmt.Errorf("include/lipc.h lacks %v", missing)
	}
	return nil
}

// rawSigaction is the kernel's struct sigaction on Linux.
type rawSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

func sigurgHandler() uintptr {
	var sa rawSigaction
	syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGURG), 0, uintptr(unsafe.Pointer(&sa)), 8, 0, 0)
	return sa.handler
}

func TestMain(m *testing.M) {
	// Two Go runtimes in one process fight over SIGURG (host-runtimes F5,
	// F15): run without async preemption in this host runtime.
	if gd := os.Getenv("GODEBUG"); !strings.Contains(gd, "asyncpreemptoff=1") {
		if gd != "" {
			gd += ","
		}
		os.Setenv("GODEBUG", gd+"asyncpreemptoff=1")
		exe, err := os.Executable()
		if err == nil {
			err = syscall.Exec(exe, os.Args, os.Environ())
		}
		fmt.Fprintf(os.Stderr, "abi tests: cannot re-execute with GODEBUG=asyncpreemptoff=1 (%v); go on without it\n", err)
	}
	var err error
	if hdr, err = readHeader(); err == nil {
		err = setConstants()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "abi tests: cannot read include/lipc.h: %v\n", err)
		os.Exit(2)
	}
	preSigurg = sigurgHandler()
	preNofileOK = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &preNofile) == nil
	load()
	if mode := os.Getenv("LIPC_ABI_HELPER"); mode != "" {
		os.Exit(helperMain(mode))
	}
	os.Exit(m.Run())
}

// need skips or fails a test that needs the library when it is missing.
func need(t *testing.T) {
	t.Helper()
	if lib != nil {
		return
	}
	if libAbsent && os.Getenv("LIPC_REQUIRE_LIB") == "" {
		t.Skipf("skipped: %v (set LIPC_REQUIRE_LIB=1 to make this a failure)", loadErr)
	}
	t.Fatalf("cannot load lipc: %v", loadErr)
}

// lockThread pins the test goroutine to its OS thread: lipc's last error
// and errno are per thread, and Go may move a goroutine between calls.
func lockThread(t *testing.T) {
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
}

// failure is what a failing call left on its thread.
type failure struct {
	rc    int32
	msg   string
	errno int32
}

func (f failure) String() string {
	return fmt.Sprintf("rc %d (%s), errno %d, %q", f.rc, lib.errorName(f.rc), f.errno, f.msg)
}

// check reads the thread's last error right after rc came back, as every
// binding must, and fails the test unless rc is want. Call with the thread
// locked.
func check(t *testing.T, what string, rc, want int32) failure {
	t.Helper()
	f := failure{rc: rc}
	if rc != cOK {
		f.msg, f.errno = lib.lastError(), lib.errno()
	}
	if rc != want {
		t.Fatalf("%s: got %s, want %d (%s)", what, f, want, lib.errorName(want))
	}
	return f
}

var nameCounter atomic.Int64

// newName gives a semaphore name unique to this run and unlinks it at the end.
func newName(t *testing.T) string {
	n := fmt.Sprintf("lipc-abitest-%d-%d", os.Getpid(), nameCounter.Add(1))
	t.Cleanup(func() { os.Remove("/dev/shm/sem." + n) })
	return n
}

// openSem opens a semaphore and closes it at the end of the test.
func openSem(t *testing.T, name string, flags int32, mode, value uint32) int64 {
	t.Helper()
	var h int64
	if rc := lib.semOpen(name, flags, mode, value, &h); rc != cOK {
		t.Fatalf("sem_open(%q, %d): rc %d (%s) %q", name, flags, rc, lib.errorName(rc), lib.lastError())
	}
	checkHandleRange(t, h)
	t.Cleanup(func() { lib.close(h) })
	return h
}

// awaitWaiter returns once a thread is blocked in a wait on semaphore
// name: glibc's sem_t counts its waiters in bytes 4..7 (5 s at most).
func awaitWaiter(t *testing.T, name string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile("/dev/shm/sem." + name)
		if err == nil && len(b) >= 8 && binary.LittleEndian.Uint32(b[4:]) != 0 {
			time.Sleep(5 * time.Millisecond) // from registered to asleep
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("no thread came to wait on %s", name)
}

func checkHandleRange(t *testing.T, h int64) {
	t.Helper()
	if h < 1<<52 || h >= 1<<53 {
		t.Fatalf("handle %d (%#x) is outside [2^52, 2^53)", h, h)
	}
}

func liveHandles(t *testing.T) int64 {
	t.Helper()
	var v int64
	if rc := lib.diag(diagLiveHandles, &v); rc != cOK {
		t.Fatalf("diag(LIVE_HANDLES): %d", rc)
	}
	return v
}

func setMode(t *testing.T, mode int32) {
	t.Helper()
	if rc := lib.setCallMode(mode); rc != cOK {
		t.Fatalf("set_call_mode(%d): %d %q", mode, rc, lib.lastError())
	}
}

// inModes runs f once per call mode, leaving the process in direct mode.
func inModes(t *testing.T, f func(t *testing.T)) {
	for _, m := range []struct {
		name string
		mode int32
	}{{"direct", modeDirect}, {"handoff", modeHandoff}} {
		t.Run(m.name, func(t *testing.T) {
			setMode(t, m.mode)
			t.Cleanup(func() { lib.setCallMode(modeDirect) })
			f(t)
		})
	}
}

// helperMain is this binary run as a second process (LIPC_ABI_HELPER):
// "post:NAME" opens NAME and posts to it once; "mode" prints the call mode
// lipc chose at load. It returns the exit status.
func helperMain(mode string) int {
	if lib == nil {
		fmt.Fprintln(os.Stderr, "helper:", loadErr)
		return 3
	}
	runtime.LockOSThread()
	switch {
	case strings.HasPrefix(mode, "post:"):
		var h int64
		if rc := lib.semOpen(strings.TrimPrefix(mode, "post:"), 0, 0, 0, &h); rc != cOK {
			fmt.Fprintf(os.Stderr, "helper: sem_open: %d %s\n", rc, lib.lastError())
			return 4
		}
		if rc := lib.semPost(h); rc != cOK {
			fmt.Fprintf(os.Stderr, "helper: sem_post: %d %s\n", rc, lib.lastError())
			return 5
		}
		lib.close(h)
		return 0
	case mode == "mode":
		var v int64
		if rc := lib.diag(diagCallMode, &v); rc != cOK {
			return 6
		}
		var g int64
		if rc := lib.diag(diagGoThread, &g); rc != cOK {
			return 7
		}
		fmt.Printf("mode=%d go_thread=%d\n", v, g)
		return 0
	}
	fmt.Fprintln(os.Stderr, "helper: unknown mode", mode)
	return 2
}

// gostr copies the NUL-terminated C string at p.
func gostr(p *byte) string {
	if p == nil {
		return ""
	}
	var b []byte
	for q := unsafe.Pointer(p); *(*byte)(q) != 0; q = unsafe.Add(q, 1) {
		b = append(b, *(*byte)(q))
	}
	return string(b)
}

// cstr gives a NUL-terminated copy of s for the *byte declarations.
func cstr(s string) *byte {
	b := append([]byte(s), 0)
	return &b[0]
}
