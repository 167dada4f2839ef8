-- lipc for LuaJIT, as a rock. In the source tree: `luarocks make` (builds
-- liblipc.so with Go, then installs the modules and the library into the
-- rocks tree). `make dist` packs a binary rock (build/dist/lipc-VERSION-1.
-- linux-x86_64.rock) that installs with no Go: `luarocks install FILE.rock`.
-- The library goes to <tree>/lib/lua/5.1/lipc/liblipc.so, where the binding
-- finds it through package.cpath (module "lipc.liblipc"); no environment
-- variable is needed. On Windows (x64) it is lipc.dll, installed as module
-- "lipc.lipc" (<tree>\lib\lua\5.1\lipc\lipc.dll) and found the same way;
-- `make dist` packs it as build/dist/lipc-VERSION-1.win32-x86_64.rock (built
-- on Linux with mingw: the source rock on Windows would need Go, mingw and
-- make there). The library differs per platform, so each platform names
-- its own (luarocks merges build.platforms.X into build). The version is the scm one here: the release rockspec
-- `make dist` writes takes its version from include/lipc.h.
rockspec_format = "3.0"
package = "lipc"
version = "scm-1"
source = {
  url = "git+https://github.com/lipc-dev/lipc.git",
}
description = {
  summary = "Portable inter-process communication for LuaJIT (ffi binding of liblipc)",
  detailed = [[
Child processes (argv or shell, any fd map, pipelines, limits, timeouts,
autokill), named POSIX semaphores, robust mutexes, events, shared memory,
memory-mapped files and byte-range file locks, from one library that C,
Python and Common Lisp programs load too. Includes drop-in modules for
LuaIPC (ipc.*) and luapower's proc (proc).]],
  license = "MIT",
  homepage = "https://github.com/lipc-dev/lipc",
  labels = { "ipc", "process", "ffi", "luajit" },
}
supported_platforms = { "linux", "windows" }
dependencies = {
  "lua == 5.1", -- LuaJIT: the binding is LuaJIT ffi code
}
build = {
  -- Needs Go (go.mod's version), a C compiler and make; the packed binary
  -- rock needs none of them.
  type = "command",
  platforms = {
    linux = {
      build_command = "make build/liblipc.so",
      install = { lib = { ["lipc.liblipc"] = "build/liblipc.so" } },
    },
    windows = {
      build_command = "make windows",
      install = { lib = { ["lipc.lipc"] = "build/windows/lipc.dll" } },
    },
  },
  install = {
    lua = {
      ["lipc.cdef"] = "bindings/luajit/lipc/cdef.lua",
      ["lipc.env"] = "bindings/luajit/lipc/env.lua",
      ["lipc.errors"] = "bindings/luajit/lipc/errors.lua",
      ["lipc.event"] = "bindings/luajit/lipc/event.lua",
      ["lipc.flock"] = "bindings/luajit/lipc/flock.lua",
      ["lipc.handle"] = "bindings/luajit/lipc/handle.lua",
      ["lipc"] = "bindings/luajit/lipc/init.lua",
      ["lipc.lib"] = "bindings/luajit/lipc/lib.lua",
      ["lipc.memfile"] = "bindings/luajit/lipc/memfile.lua",
      ["lipc.mmap"] = "bindings/luajit/lipc/mmap.lua",
      ["lipc.mutex"] = "bindings/luajit/lipc/mutex.lua",
      ["lipc.named"] = "bindings/luajit/lipc/named.lua",
      ["lipc.pipe"] = "bindings/luajit/lipc/pipe.lua",
      ["lipc.proc"] = "bindings/luajit/lipc/proc.lua",
      ["lipc.quote"] = "bindings/luajit/lipc/quote.lua",
      ["lipc.sem"] = "bindings/luajit/lipc/sem.lua",
      ["lipc.shm"] = "bindings/luajit/lipc/shm.lua",
      ["lipc.util"] = "bindings/luajit/lipc/util.lua",
      ["lipc.wait"] = "bindings/luajit/lipc/wait.lua",
      ["ipc._base"] = "bindings/luajit/ipc/_base.lua",
      ["ipc.filelock"] = "bindings/luajit/ipc/filelock.lua",
      ["ipc.mmap"] = "bindings/luajit/ipc/mmap.lua",
      ["ipc.proc"] = "bindings/luajit/ipc/proc.lua",
      ["ipc.sem"] = "bindings/luajit/ipc/sem.lua",
      ["ipc.shm"] = "bindings/luajit/ipc/shm.lua",
      ["ipc.strfile"] = "bindings/luajit/ipc/strfile.lua",
      ["proc"] = "bindings/luajit/proc.lua",
    },
  },
  copy_directories = {},
}
test = {
  type = "command",
  command = "luajit bindings/luajit/tests/run.lua",
}
