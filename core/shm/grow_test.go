package shm

import (
	"os"
	"testing"
)

// A grow whose view cannot be mapped leaves the object as it was: the C API
// refuses sizes above 2^46 before they get here (LIPC_ERANGE), so this
// failure path is tested here, with a size no address space can hold.
func TestFailedGrowLeavesTheObject(t *testing.T) {
	n := uniqueName(t)
	a, err := Open(n, Create|Excl, 0, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(n, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.Grow(1 << 62); err == nil {
		t.Fatal("a grow to 2^62 bytes succeeded")
	}
	if _, size := a.View(); size != 4096 {
		t.Fatalf("view size %d after the failed grow", size)
	}
	if st, err := os.Stat("/dev/shm/" + n); err != nil || st.Size() != 4096 {
		t.Fatalf("file after the failed grow: %v %v", st, err)
	}
	if size, err := b.Refresh(); err != nil || size != 4096 {
		t.Fatalf("other handle: %d %v", size, err)
	}
}
