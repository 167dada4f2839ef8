package abi

import (
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"unsafe"

	"github.com/ebitengine/purego"
)

// The memory calls the edge test needs, beyond lib_test.go's api.
var edge struct {
	once       sync.Once
	err        error
	mmapOpen   func(path string, access, flags int32, mode uint32, offset, length int64, h *int64) int32
	mmapFlush  func(h, offset, length int64, async int32) int32
	mmapAdvise func(h, offset, length int64, advice int32) int32
	flockOpen  func(path string, flags int32, mode uint32, h *int64) int32
	flockLock  func(h, offset, length int64, exclusive int32, timeoutMs int64) int32
	fdRead     func(fd int32, buf unsafe.Pointer, size uint64, timeoutMs int64, nread *uint64) int32
}

func needEdge(t *testing.T) {
	t.Helper()
	need(t)
	edge.once.Do(func() {
		h, err := purego.Dlopen(libPath, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			edge.err = err
			return
		}
		purego.RegisterLibFunc(&edge.mmapOpen, h, "lipc_mmap_open")
		purego.RegisterLibFunc(&edge.mmapFlush, h, "lipc_mmap_flush")
		purego.RegisterLibFunc(&edge.mmapAdvise, h, "lipc_mmap_advise")
		purego.RegisterLibFunc(&edge.flockOpen, h, "lipc_flock_open")
		purego.RegisterLibFunc(&edge.flockLock, h, "lipc_flock_lock")
		purego.RegisterLibFunc(&edge.fdRead, h, "lipc_fd_read")
	})
	if edge.err != nil {
		t.Fatalf("dlopen %s: %v", libPath, edge.err)
	}
}

// Offsets and lengths whose sum passes INT64_MAX, and sizes above
// SSIZE_MAX, are argument errors found before use, in both call modes; and
// no panic is ever caught inside lipc's Go code (LIPC_DIAG_GO_PANICS), the
// count a recovered panic would show however its error code looked.
func TestEdgeArgumentsCauseNoPanic(t *testing.T) {
	needEdge(t)
	diagGoPanics := int32(def(t, "LIPC_DIAG_GO_PANICS"))
	mmapWrite, mmapCreate, mmapExtend := int32(def(t, "LIPC_MMAP_WRITE")), int32(def(t, "LIPC_MMAP_CREATE")),
		int32(def(t, "LIPC_MMAP_EXTEND"))
	fileCreate := int32(def(t, "LIPC_FILE_CREATE"))
	dir := t.TempDir()
	inModes(t, func(t *testing.T) {
		lockThread(t)
		var m, l int64
		path := filepath.Join(dir, "map")
		check(t, "mmap_open", edge.mmapOpen(path, mmapWrite, mmapCreate|mmapExtend, 0, 0, 8192, &m), cOK)
		defer lib.close(m)
		for _, r := range [][2]int64{{4096, math.MaxInt64}, {math.MaxInt64, 1}, {1, math.MaxInt64}, {math.MinInt64, 1}} {
			check(t, "mmap_flush", edge.mmapFlush(m, r[0], r[1], 0), cEINVAL)
			check(t, "mmap_advise", edge.mmapAdvise(m, r[0], r[1], 0), cEINVAL)
		}
		var bad int64
		check(t, "mmap_open past INT64_MAX", edge.mmapOpen(path, mmapWrite, mmapExtend, 0, math.MaxInt64-4095, 4096, &bad), cERANGE)
		check(t, "flock_open", edge.flockOpen(filepath.Join(dir, "lock"), fileCreate, 0, &l), cOK)
		defer lib.close(l)
		check(t, "flock_lock past INT64_MAX", edge.flockLock(l, math.MaxInt64, 2, 1, 0), cERANGE)
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		defer w.Close()
		var buf [8]byte
		var n uint64
		check(t, "fd_read SIZE_MAX", edge.fdRead(int32(r.Fd()), unsafe.Pointer(&buf[0]), math.MaxUint64, 0, &n), cEINVAL)
	})
	if v := diag(t, diagGoPanics); v != 0 {
		t.Fatalf("LIPC_DIAG_GO_PANICS = %d: lipc caught panics (bugs) during the run", v)
	}
}
