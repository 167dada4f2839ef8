/* whandle.h - a handle value no test process has open. A handle just
 * closed is no such value: its number goes back to the process's table,
 * where the Go runtime in lipc.dll (threads, timers) or any thread may get
 * it at once, so a test that uses it again may meet another object. Handle
 * numbers are multiples of 4 handed out from the bottom of the table; this
 * one would need half a billion handles open before it. */
#ifndef LIPC_WHANDLE_H
#define LIPC_WHANDLE_H
#define NOT_OPEN_HANDLE 0x7ffffffc
#endif
