"""Loads the smoke DLL (argv[1]) with ctypes, as the Python binding loads
lipc.dll, and calls both exports; also proves pytest imports."""
import ctypes
import platform
import sys

import pytest

lib = ctypes.CDLL(sys.argv[1])
lib.smoke_go_add.argtypes = [ctypes.c_int, ctypes.c_int]
lib.smoke_c_twice.argtypes = [ctypes.c_int]
got = lib.smoke_go_add(2, 3), lib.smoke_c_twice(21)
assert got == (5, 42), "python: wrong answers: %r" % (got,)
assert sys.platform == "win32", sys.platform
print("python: ok (CPython %s %s, pytest %s)" % (platform.python_version(), platform.machine(), pytest.__version__))
