package main

/*
#include <stdlib.h>
#include <unistd.h>
#include "internal.h"
#include "../core/flock/flock_linux.h"

static void view_set(struct lipc_view *v, void *addr, int64_t size) {
  atomic_store(&v->addr, addr);
  atomic_store(&v->size, size);
}

static struct lipc_flock_c *flock_c_new(int fd, int kind, void *wake) {
  struct lipc_flock_c *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->fd = fd;
  c->kind = kind;
  c->wake = wake;
  c->own = kind != LIPC__FLOCK_CLASSIC; // core/flock opens the file for every kind but classic
  atomic_store(&c->owner, getpid());
  return c;
}
*/
import "C"

import (
	"runtime/cgo"
	"syscall"
	"unsafe"

	"github.com/lipc-dev/lipc/core/flock"
	"github.com/lipc-dev/lipc/core/lerr"
	"github.com/lipc-dev/lipc/core/mmap"
	"github.com/lipc-dev/lipc/core/shm"
)

func newView(addr unsafe.Pointer, size int64) *C.struct_lipc_view {
	v := (*C.struct_lipc_view)(C.calloc(1, C.size_t(unsafe.Sizeof(C.struct_lipc_view{}))))
	C.view_set(v, addr, C.int64_t(size))
	return v
}

// registerWithC registers obj with a C-side object that lipc frees by kind
// after obj's Close (kinds.c).
func registerWithC(op, subject string, kind C.int, obj any, cobj unsafe.Pointer) (C.lipc_handle_t, error) {
	h, err := register(op, subject, kind, obj, uintptr(cobj))
	if err != nil {
		C.free(cobj)
	}
	return h, err
}

func opShmOpen(r *C.lipc_req) error {
	name := C.GoString(r.s[0])
	s, err := shm.Open(name, int(r.i[0]), uint32(r.i[1]), int64(r.i[2]))
	if err != nil {
		return err
	}
	addr, size := s.View()
	h, err := registerWithC("shm_open", name, C.LIPC_KIND_SHM, s, unsafe.Pointer(newView(addr, size)))
	r.o[0] = C.int64_t(h)
	return err
}

// opShmResize grows (i2 > 0) or refreshes (i2 == 0) and updates the C view.
func opShmResize(r *C.lipc_req) error {
	s := cgo.Handle(uintptr(r.i[0])).Value().(*shm.Shm)
	var err error
	if r.i[2] > 0 {
		err = s.Grow(int64(r.i[2]))
	} else {
		_, err = s.Refresh()
	}
	if err != nil {
		return err
	}
	addr, size := s.View()
	C.view_set((*C.struct_lipc_view)(unsafePointer(uintptr(r.i[1]))), addr, C.int64_t(size))
	r.o[0] = C.int64_t(size)
	return nil
}

func opShmUnlink(r *C.lipc_req) error { return shm.Unlink(C.GoString(r.s[0])) }

func opMmapOpen(r *C.lipc_req) error {
	path := C.GoString(r.s[0])
	m, err := mmap.Open(path, int(r.i[0]), int(r.i[1]), uint32(r.i[2]), int64(r.i[3]), int64(r.i[4]))
	if err != nil {
		return err
	}
	v := newView(unsafe.Pointer(&m.Mem[0]), int64(len(m.Mem)))
	h, err := registerWithC("mmap_open", path, C.LIPC_KIND_MMAP, m, unsafe.Pointer(v))
	r.o[0] = C.int64_t(h)
	return err
}

func opMmapSync(r *C.lipc_req) error {
	m := cgo.Handle(uintptr(r.i[0])).Value().(*mmap.Map)
	off, length := int64(r.i[2]), int64(r.i[3])
	if r.i[4] == 2 {
		return m.Advise(off, length, int(r.i[5]))
	}
	return m.Flush(off, length, r.i[4] == 1)
}

func opFlockOpen(r *C.lipc_req) error {
	var l *flock.Lock
	var err error
	subject := "fd"
	if r.s[0] != nil {
		subject = C.GoString(r.s[0])
		l, err = flock.Open(subject, int(r.i[0]), uint32(r.i[1]))
	} else {
		l, err = flock.FromFd(int(r.i[2]), int(r.i[3]))
	}
	if err != nil {
		return err
	}
	c := C.flock_c_new(C.int(l.Fd), C.int(l.Kind), l.Wake)
	if c == nil {
		l.Close()
		return lerr.New("flock_open", subject, lerr.NoMem, syscall.ENOMEM, "out of memory")
	}
	h, err := registerWithC("flock_open", subject, C.LIPC_KIND_FLOCK, l, unsafe.Pointer(c))
	r.o[0] = C.int64_t(h)
	return err
}
