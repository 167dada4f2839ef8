package main

/*
#include <stdlib.h>
#include "internal.h"
*/
import "C"

import (
	"io"
	"runtime/cgo"
	"sync/atomic"
	"syscall"

	"github.com/lipc-dev/lipc/core/lerr"
)

// panics counts the panics lipcgo_dispatch recovered (LIPC_DIAG_GO_PANICS):
// each one is a bug in lipc, whatever error code the caller got, and tests
// assert that edge arguments cause none.
var panics atomic.Int64

// lipcgo_dispatch runs one request, on the caller's thread (direct mode) or
// a server thread (handoff mode), and writes the result or error into it.
// A panic becomes an error: it must never take the host process down.
//
//export lipcgo_dispatch
func lipcgo_dispatch(r *C.lipc_req, onServer C.int) {
	r.on_go_thread = onServer
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				panics.Add(1)
				err = lerr.New("lipc", "", lerr.OSBase-lerr.Code(syscall.EIO), syscall.EIO,
					"internal error (a bug in lipc; op %d): %v", int(r.op), p)
			}
		}()
		op, ok := ops[int(r.op)]
		if !ok {
			return lerr.Invalidf("lipc", "", "unknown request %d", int(r.op))
		}
		return op(r)
	}()
	if err != nil {
		code, errno := lerr.CodeOf(err)
		r.rc = C.int(code)
		r.err = C.int(errno)
		r.msg = C.CString(err.Error())
	}
}

// ops maps request codes (enum lipc_op in internal_<os>.h) to their Go
// side: the two every system has here, each system's own (systemOps) in
// ops_<os>.go. Built while package variables are initialised, before any
// init function runs: the threads that serve handed-off requests start in
// an init (main_<os>.go), and a host may hand a request over while the
// library is still loading; a map still being filled then is a fatal
// concurrent read and write (found by the adversarial suite under load).
// Read-only after that.
var ops = withSystemOps(map[int]func(*C.lipc_req) error{
	C.LIPC_OP_DESTROY: opDestroy,
	C.LIPC_OP_DIAG:    opDiag,
})

func withSystemOps(m map[int]func(*C.lipc_req) error) map[int]func(*C.lipc_req) error {
	for code, op := range systemOps {
		m[code] = op
	}
	return m
}

// register puts a Go object behind a new handle; obj is what C fast paths
// use. On failure the object is closed.
func register(op, subject string, kind C.int, obj any, cptr uintptr) (C.lipc_handle_t, error) {
	ref := cgo.NewHandle(obj)
	var h C.lipc_handle_t
	if rc := C.lipc__handle_new(kind, unsafePointer(cptr), C.uintptr_t(ref), &h); rc != 0 {
		ref.Delete()
		if c, ok := obj.(io.Closer); ok {
			c.Close()
		}
		return 0, lerr.New(op, subject, lerr.Code(rc), syscall.ENOMEM, "%s", C.GoString(C.lipc_last_error()))
	}
	return h, nil
}

func opDestroy(r *C.lipc_req) error {
	ref := cgo.Handle(uintptr(r.i[1]))
	obj := ref.Value()
	ref.Delete()
	if c, ok := obj.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Kept in package variables so the compiler cannot fold the divisions.
var fpZero, fpOne = 0.0, 1.0

func opDiag(r *C.lipc_req) error {
	switch r.i[0] {
	case C.LIPC_DIAG_FP_SELFTEST:
		// Under unmasked FP traps (SBCL sets them) each of these raises
		// SIGFPE and kills the process; with lipc's FP duties they give
		// +Inf, NaN and a rounded quotient.
		inf := fpOne / fpZero
		nan := fpZero / fpZero
		third := fpOne / 3
		if inf <= 1e308 || nan == nan || third <= 0.333 {
			return lerr.New("diag", "fp_selftest", lerr.OSBase-lerr.Code(syscall.EIO), syscall.EIO,
				"unexpected float results %v %v %v", inf, nan, third)
		}
		r.o[0] = 1
	case C.LIPC_DIAG_GO_THREAD:
		r.o[0] = C.int64_t(r.on_go_thread)
	case C.LIPC_DIAG_GO_PANICS:
		r.o[0] = C.int64_t(panics.Load())
	default:
		return lerr.Invalidf("diag", "", "unknown figure %d", int64(r.i[0]))
	}
	return nil
}
