package main

/*
#include "internal.h"
*/
import "C"

import (
	"github.com/lipc-dev/lipc/core/sem"
)

func opSemOpen(r *C.lipc_req) error {
	name := C.GoString(r.s[0])
	s, err := sem.Open(name, int(r.i[0]), uint32(r.i[1]), uint32(r.i[2]))
	if err != nil {
		return err
	}
	h, err := register("sem_open", name, C.LIPC_KIND_SEM, s, uintptr(s.Pointer()))
	if err != nil {
		return err
	}
	r.o[0] = C.int64_t(h)
	return nil
}

func opSemUnlink(r *C.lipc_req) error {
	return sem.Unlink(C.GoString(r.s[0]))
}
