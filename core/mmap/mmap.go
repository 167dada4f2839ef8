// Package mmap maps files into memory: read-only, read-write shared with
// other processes and written back to the file, or copy-on-write (private),
// from a page-aligned offset, for a length (0: to the end of the file),
// optionally creating or extending the file.
//
// A process that touches a page of a mapping beyond the end of its file
// (because some process truncated the file after it was mapped) gets
// SIGBUS; lipc cannot turn that into an error.
package mmap

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/lipc-dev/lipc/core/fsutil"
	"github.com/lipc-dev/lipc/core/lerr"
)

// Access modes.
const (
	Read  = 1 // read-only
	Write = 2 // read-write, shared: writes reach the file and other processes
	Copy  = 3 // copy-on-write: writes stay in this mapping
)

// Flags.
const (
	Create = 1 // create the file if missing (with Write, or Extend)
	Extend = 2 // extend the file to offset+length if it is shorter
)

// Advice for Advise.
const (
	Normal     = 0
	Sequential = 1
	Random     = 2
	WillNeed   = 3
	DontNeed   = 4
)

// Map is a mapped file region.
type Map struct {
	Path   string
	Mem    []byte
	Offset int64
	access int
}

// PageSize is the size offsets must be multiples of.
func PageSize() int64 { return int64(os.Getpagesize()) }

// Open maps length bytes (0: to the end) of path from offset.
func Open(path string, access, flags int, mode uint32, offset, length int64) (*Map, error) {
	const op = "mmap_open"
	if access < Read || access > Copy {
		return nil, lerr.Invalidf(op, path, "unknown access %d (read 1, write 2, copy 3)", access)
	}
	if flags&^(Create|Extend) != 0 {
		return nil, lerr.Invalidf(op, path, "unknown flags %#x", flags)
	}
	if offset < 0 || length < 0 {
		return nil, lerr.Invalidf(op, path, "negative offset %d or length %d", offset, length)
	}
	if offset%PageSize() != 0 {
		return nil, lerr.Invalidf(op, path, "offset %d is not a multiple of the page size %d", offset, PageSize())
	}
	oflags := unix.O_RDONLY
	if access == Write || flags&Extend != 0 {
		oflags = unix.O_RDWR
	}
	if flags&Create != 0 {
		if oflags != unix.O_RDWR {
			return nil, lerr.Invalidf(op, path, "creating a file needs write access or extend")
		}
		oflags |= unix.O_CREAT
	}
	if mode == 0 {
		mode = 0o644
	}
	fd, st, err := fsutil.OpenRegular(op, path, oflags, mode)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	size := st.Size
	if length == 0 {
		switch {
		case size == 0:
			return nil, lerr.Invalidf(op, path, "the file is empty: give a length (with extend) to map it")
		case offset >= size:
			return nil, lerr.Invalidf(op, path, "offset %d is at or past the end of the file (%d bytes)", offset, size)
		}
		length = size - offset
	}
	if offset+length > size {
		if flags&Extend == 0 {
			return nil, lerr.Invalidf(op, path, "offset %d + length %d passes the end of the file (%d bytes); use extend", offset, length, size)
		}
		if err := unix.Ftruncate(fd, offset+length); err != nil {
			return nil, lerr.Wrap(op, path, err)
		}
	}
	prot, share := unix.PROT_READ, unix.MAP_SHARED
	switch access {
	case Write:
		prot |= unix.PROT_WRITE
	case Copy:
		prot |= unix.PROT_WRITE
		share = unix.MAP_PRIVATE
	}
	mem, err := unix.Mmap(fd, offset, int(length), prot, share)
	if err != nil {
		return nil, lerr.Wrap(op, path, err)
	}
	return &Map{Path: path, Mem: mem, Offset: offset, access: access}, nil
}

// span checks a range of the mapping (length 0: to the end) and widens its
// start to a page boundary, as msync and madvise need.
func (m *Map) span(op string, off, length int64) ([]byte, error) {
	if m.Mem == nil {
		return nil, lerr.New(op, m.Path, lerr.BadHandle, unix.EBADF, "closed")
	}
	n := int64(len(m.Mem))
	if off >= 0 && off <= n && length == 0 {
		length = n - off
	}
	// off+length is never computed before both are known to be in range:
	// with length near INT64_MAX it would wrap to a negative end.
	if off < 0 || length < 0 || off > n || length > n-off {
		return nil, lerr.Invalidf(op, m.Path, "range %d+%d is outside the mapping of %d bytes", off, length, n)
	}
	start := off - off%PageSize()
	return m.Mem[start : off+length], nil
}

// Flush writes changes in the range back to the file, waiting for the
// write when async is false. Copy-on-write mappings have nothing to flush.
func (m *Map) Flush(off, length int64, async bool) error {
	b, err := m.span("mmap_flush", off, length)
	if err != nil || m.access != Write || len(b) == 0 {
		return err
	}
	flags := unix.MS_SYNC
	if async {
		flags = unix.MS_ASYNC
	}
	return lerr.Wrap("mmap_flush", m.Path, unix.Msync(b, flags))
}

// Advise tells the kernel how the range will be used.
func (m *Map) Advise(off, length int64, advice int) error {
	b, err := m.span("mmap_advise", off, length)
	if err != nil || len(b) == 0 {
		return err
	}
	adv := map[int]int{Normal: unix.MADV_NORMAL, Sequential: unix.MADV_SEQUENTIAL, Random: unix.MADV_RANDOM,
		WillNeed: unix.MADV_WILLNEED, DontNeed: unix.MADV_DONTNEED}
	a, ok := adv[advice]
	if !ok {
		return lerr.Invalidf("mmap_advise", m.Path, "unknown advice %d", advice)
	}
	return lerr.Wrap("mmap_advise", m.Path, unix.Madvise(b, a))
}

// Close unmaps the region.
func (m *Map) Close() error {
	if m.Mem == nil {
		return nil
	}
	err := unix.Munmap(m.Mem)
	m.Mem = nil
	return lerr.Wrap("mmap_close", m.Path, err)
}
