package main

/*
#include "internal.h"
*/
import "C"

// The operations Go serves on Linux (enum lipc_op in internal_linux.h): a
// package variable, not an init function, so that ops is whole before any
// init runs (main_linux.go's starts the threads that read it).
var systemOps = map[int]func(*C.lipc_req) error{
	C.LIPC_OP_SEM_OPEN:          opSemOpen,
	C.LIPC_OP_SEM_UNLINK:        opSemUnlink,
	C.LIPC_OP_MUTEX_OPEN:        opMutexOpen,
	C.LIPC_OP_MUTEX_UNLINK:      opMutexUnlink,
	C.LIPC_OP_EVENT_OPEN:        opEventOpen,
	C.LIPC_OP_EVENT_UNLINK:      opEventUnlink,
	C.LIPC_OP_SHM_OPEN:          opShmOpen,
	C.LIPC_OP_SHM_RESIZE:        opShmResize,
	C.LIPC_OP_SHM_UNLINK:        opShmUnlink,
	C.LIPC_OP_MMAP_OPEN:         opMmapOpen,
	C.LIPC_OP_MMAP_SYNC:         opMmapSync,
	C.LIPC_OP_FLOCK_OPEN:        opFlockOpen,
	C.LIPC_OP_PROC_CLOSING:      opProcClosing,
	C.LIPC_OP_PROC_SPAWN_FINISH: opProcSpawnFinish,
	C.LIPC_OP_PROC_RELEASE:      opProcRelease,
}
