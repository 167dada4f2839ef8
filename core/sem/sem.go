// Package sem implements named counting semaphores that are the platform's
// own POSIX named semaphores: on Linux with glibc, a semaphore named "x" is
// the file /dev/shm/sem.x that sem_open("/x") maps, laid out as glibc's
// sem_t, so lipc and plain C programs share it both ways.
package sem

import (
	"unsafe"
)

// Flags for Open.
const (
	Create        = 1 // create if missing
	Excl          = 2 // with Create: fail if it exists
	UnlinkOnClose = 4 // remove the name when the creating handle closes
)

// MaxValue is the largest value a semaphore can hold (SEM_VALUE_MAX).
const MaxValue = 1<<31 - 1

// Sem is an open named semaphore.
type Sem struct {
	name          string // the cleaned name, without '/'
	path          string
	mem           []byte // the mapped sem_t
	created       bool   // this handle created the name
	unlinkOnClose bool
	dev, ino      uint64 // identity of what we created, for UnlinkOnClose
}

// Name is the semaphore's name without the leading '/'.
func (s *Sem) Name() string { return s.name }

// Created reports whether this Open created the semaphore.
func (s *Sem) Created() bool { return s.created }

// Pointer is the address of the mapped sem_t; C code uses it with sem_post
// and sem_wait. Valid until Close.
func (s *Sem) Pointer() unsafe.Pointer { return unsafe.Pointer(&s.mem[0]) }
