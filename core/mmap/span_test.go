package mmap

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/lipc-dev/lipc/core/lerr"
)

// Ranges whose end passes INT64_MAX, or lie outside the mapping, are
// lerr.Invalid: never a slice panic (offset+length once wrapped negative).
func TestFlushAdviseRangesOutside(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	m, err := Open(p, Write, Create|Extend, 0, 0, 2*PageSize())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	n := 2 * PageSize()
	bad := [][2]int64{
		{PageSize(), math.MaxInt64}, {math.MaxInt64, 1}, {math.MaxInt64, 0}, {1, math.MaxInt64 - 1},
		{-1, 0}, {0, -1}, {math.MinInt64, 1}, {n + 1, 0}, {n, 1}, {0, n + 1},
	}
	for _, r := range bad {
		if err := m.Flush(r[0], r[1], false); !lerr.IsCode(err, lerr.Invalid) {
			t.Errorf("Flush(%d, %d): %v, want Invalid", r[0], r[1], err)
		}
		if err := m.Advise(r[0], r[1], Normal); !lerr.IsCode(err, lerr.Invalid) {
			t.Errorf("Advise(%d, %d): %v, want Invalid", r[0], r[1], err)
		}
	}
	for _, r := range [][2]int64{{0, 0}, {0, n}, {n, 0}, {PageSize() + 1, 10}, {n - 1, 1}} {
		if err := m.Flush(r[0], r[1], false); err != nil {
			t.Errorf("Flush(%d, %d): %v", r[0], r[1], err)
		}
		if err := m.Advise(r[0], r[1], WillNeed); err != nil {
			t.Errorf("Advise(%d, %d): %v", r[0], r[1], err)
		}
	}
}
