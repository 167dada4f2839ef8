// Package lerr is lipc's error model in Go: every failure carries what was
// being done (Op and Subject), a Code that the C API returns as a negative
// LIPC_E* number, and the errno behind it when there is one.
package lerr

import (
	"errors"
	"fmt"
	"syscall"
)

// Code is a LIPC_E* value of include/lipc.h.
type Code int

// The codes of include/lipc.h; keep both lists in step (a test compares them).
const (
	OK           Code = 0
	Invalid      Code = -1
	BadHandle    Code = -2
	NotFound     Code = -3
	Exists       Code = -4
	Perm         Code = -5
	TimedOut     Code = -6
	Interrupted  Code = -7
	Busy         Code = -8
	Again        Code = -9
	NoMem        Code = -10
	Closed       Code = -11
	NotSupported Code = -12
	Forked       Code = -13
	StatusLost   Code = -14
	NameTooLong  Code = -15
	Range        Code = -16
	// OSBase - errno is the code of any other operating-system error.
	OSBase Code = -1000
)

// Error is a failure of one lipc operation.
type Error struct {
	Op      string        // what was being done: "sem_open"
	Subject string        // the name or path it was done to; may be empty
	Code    Code          // the LIPC_E* code
	Errno   syscall.Errno // the errno behind it, 0 if none
	Err     error         // the cause, if any
	Text    string        // the reason, when there is no cause
}

func (e *Error) Error() string {
	prefix := e.Op
	if e.Subject != "" {
		prefix += fmt.Sprintf(" %q", e.Subject)
	}
	reason := e.Text
	if reason == "" && e.Err != nil {
		reason = e.Err.Error()
	}
	return prefix + ": " + reason
}

func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, fs.ErrNotExist) and the like work for errors that
// carry an errno but no wrapped cause.
func (e *Error) Is(target error) bool { return e.Errno != 0 && e.Errno.Is(target) }

// Invalidf reports a bad argument.
func Invalidf(op, subject, format string, args ...any) error {
	return &Error{Op: op, Subject: subject, Code: Invalid, Errno: syscall.EINVAL, Text: fmt.Sprintf(format, args...)}
}

// New reports a failure with a given code and reason.
func New(op, subject string, code Code, errno syscall.Errno, format string, args ...any) error {
	return &Error{Op: op, Subject: subject, Code: code, Errno: errno, Text: fmt.Sprintf(format, args...)}
}

// Wrap reports that op on subject failed because of err, keeping err's errno.
func Wrap(op, subject string, err error) error {
	if err == nil {
		return nil
	}
	var le *Error
	if errors.As(err, &le) {
		return &Error{Op: op, Subject: subject, Code: le.Code, Errno: le.Errno, Err: err, Text: le.Error()}
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return &Error{Op: op, Subject: subject, Code: FromErrno(errno), Errno: errno, Err: errno}
	}
	return &Error{Op: op, Subject: subject, Code: OSBase - Code(syscall.EIO), Errno: syscall.EIO, Err: err}
}

// FromErrno maps an errno to its code; unmapped ones join the OS family.
func FromErrno(errno syscall.Errno) Code {
	switch errno {
	case 0:
		return OK
	case syscall.EINVAL:
		return Invalid
	case syscall.ENOENT:
		return NotFound
	case syscall.EEXIST:
		return Exists
	case syscall.EACCES, syscall.EPERM:
		return Perm
	case syscall.ETIMEDOUT:
		return TimedOut
	case syscall.EINTR:
		return Interrupted
	case syscall.EBUSY:
		return Busy
	case syscall.EAGAIN:
		return Again
	case syscall.ENOMEM:
		return NoMem
	case syscall.ENOTSUP, syscall.ENOSYS:
		return NotSupported
	case syscall.ENAMETOOLONG:
		return NameTooLong
	case syscall.ERANGE, syscall.EOVERFLOW:
		return Range
	}
	return OSBase - Code(errno)
}

// CodeOf gives the code and errno of any error (OK for nil).
func CodeOf(err error) (Code, syscall.Errno) {
	if err == nil {
		return OK, 0
	}
	var le *Error
	if errors.As(err, &le) {
		return le.Code, le.Errno
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return FromErrno(errno), errno
	}
	return OSBase - Code(syscall.EIO), syscall.EIO
}

// IsCode reports whether err carries code.
func IsCode(err error, code Code) bool {
	c, _ := CodeOf(err)
	return err != nil && c == code
}
