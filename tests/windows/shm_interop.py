# shm_interop.py - lipc's shared memory "x" is Python's
# multiprocessing.shared_memory.SharedMemory("x") on Windows, both ways
# (issue 13). Run by scripts/windows/test.sh (part c) with the Windows
# CPython under Wine: python shm_interop.py PATH\lipc.dll. lipc is called
# through ctypes directly, not through the binding, so this checks the
# library's naming alone. Exits 1 on the first failure.
import ctypes, os, sys
from multiprocessing import shared_memory
lib = ctypes.CDLL(sys.argv[1])
lib.lipc_shm_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint32, ctypes.c_int64, ctypes.POINTER(ctypes.c_int64)]
lib.lipc_shm_addr.argtypes = [ctypes.c_int64, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_int64)]
lib.lipc_shm_unlink.argtypes = [ctypes.c_char_p]
lib.lipc_close.argtypes = [ctypes.c_int64]
lib.lipc_last_error.restype = ctypes.c_char_p
import time
name = "wmem-py-%d-%d" % (os.getpid(), int(time.time() * 1000) % 10**9)
# lipc creates, Python's SharedMemory opens
h = ctypes.c_int64()
assert lib.lipc_shm_open(name.encode(), 1 | 2, 0, 100, ctypes.byref(h)) == 0, lib.lipc_last_error()
addr, size = ctypes.c_void_p(), ctypes.c_int64()
lib.lipc_shm_addr(h, ctypes.byref(addr), ctypes.byref(size))
ctypes.memmove(addr, b"from lipc", 9)
sm = shared_memory.SharedMemory(name)
print("python sees", bytes(sm.buf[:9]), "size", sm.size)
assert bytes(sm.buf[:9]) == b"from lipc"
sm.buf[20:30] = b"from pyth!"
assert ctypes.string_at(addr.value + 20, 10) == b"from pyth!"
try:
    shared_memory.SharedMemory(name, create=True, size=10)
    print("FAIL: python created over lipc's"); sys.exit(1)
except FileExistsError:
    print("python create=True over lipc's: FileExistsError")
sm.close(); lib.lipc_close(h)
# Python creates, lipc opens
name2 = name + "-b"
sm2 = shared_memory.SharedMemory(name2, create=True, size=5000)
sm2.buf[:7] = b"from py"
h2 = ctypes.c_int64()
assert lib.lipc_shm_open(name2.encode(), 0, 0, 0, ctypes.byref(h2)) == 0, lib.lipc_last_error()
lib.lipc_shm_addr(h2, ctypes.byref(addr), ctypes.byref(size))
print("lipc sees", ctypes.string_at(addr, 7), "size", size.value)
assert ctypes.string_at(addr, 7) == b"from py" and size.value == 8192
assert lib.lipc_shm_open(name2.encode(), 1 | 2, 0, 10, ctypes.byref(h)) == -4
sm2.unlink()  # a no-op on Windows
assert lib.lipc_shm_unlink(name2.encode()) == 0
sm2.close(); lib.lipc_close(h2)
assert lib.lipc_shm_unlink(name2.encode()) == -3
print("interop ok")
