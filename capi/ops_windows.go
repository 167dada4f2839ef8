package main

/*
#include "internal.h"
*/
import "C"

// The operations Go serves on Windows (each module's own, numbered from
// its base in internal_windows.h): none; a package variable, as on Linux.
var systemOps = map[int]func(*C.lipc_req) error{}
