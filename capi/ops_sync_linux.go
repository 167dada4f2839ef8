package main

/*
#include "internal.h"
*/
import "C"

import (
	"github.com/lipc-dev/lipc/core/event"
	"github.com/lipc-dev/lipc/core/mutex"
)

func opMutexOpen(r *C.lipc_req) error {
	name := C.GoString(r.s[0])
	m, err := mutex.Open(name, int(r.i[0]), uint32(r.i[1]))
	if err != nil {
		return err
	}
	h, err := register("mutex_open", name, C.LIPC_KIND_MUTEX, m, uintptr(m.Pointer()))
	if err != nil {
		return err
	}
	r.o[0] = C.int64_t(h)
	return nil
}

func opMutexUnlink(r *C.lipc_req) error { return mutex.Unlink(C.GoString(r.s[0])) }

func opEventOpen(r *C.lipc_req) error {
	name := C.GoString(r.s[0])
	e, err := event.Open(name, int(r.i[0]), uint32(r.i[1]), r.i[2] != 0, r.i[3] != 0)
	if err != nil {
		return err
	}
	h, err := register("event_open", name, C.LIPC_KIND_EVENT, e, uintptr(e.Pointer()))
	if err != nil {
		return err
	}
	r.o[0] = C.int64_t(h)
	return nil
}

func opEventUnlink(r *C.lipc_req) error { return event.Unlink(C.GoString(r.s[0])) }
