-- The loader's lookup order, seen from child LuaJIT processes: LIPC_LIBRARY,
-- a copy beside the binding, a rock's copy on package.cpath, the build tree
-- next to the binding, the system loader; and one error naming every place tried when nothing loads.
local lipc = require "lipc"
local h = require "helpers"

-- A copy of the binding's lipc/ directory at <tmp>/<name>/lipc, optionally
-- with the library beside it; returns the copy's root.
local function copy_binding(name, with_library)
  local root = h.tmpdir() .. "/" .. name
  local cmd = ("rm -rf %s && mkdir -p %s && cp -R %s %s/"):format(
    h.q(root), h.q(root), h.q(h.binding_dir .. "/lipc"), h.q(root))
  if with_library then cmd = cmd .. (" && cp %s %s/liblipc.so"):format(h.q(h.abs(lipc.library_path)), h.q(root)) end
  h.ok(h.sh(cmd), "copy the binding")
  return root
end

-- Runs `code` in a child luajit that finds lipc under `root`, with env
-- (false removes a variable); returns its output.
local function run_child(root, env, code)
  local vars = { "LUA_PATH=" .. h.q(root .. "/?.lua;" .. root .. "/?/init.lua") }
  local unset = "-u LD_LIBRARY_PATH"
  for k, v in pairs(env) do
    if v then vars[#vars + 1] = k .. "=" .. h.q(v) else unset = unset .. " -u " .. k end
  end
  local cmd = ("env %s %s %s -e %s 2>&1"):format(unset, table.concat(vars, " "),
    os.getenv("LUAJIT") or "luajit", h.q(code))
  local p = io.popen(cmd)
  local out = p:read("*a")
  p:close()
  return out
end

local show = [[
  local ok, l = pcall(require, "lipc")
  io.write(ok and ("loaded " .. l.library_path .. " " .. l.version()) or ("error " .. tostring(l)))
]]

local T = {}

function T.explicit_library_wins()
  local root = copy_binding("explicit", true) -- even over a copy beside the binding
  local lib = h.tmpdir() .. "/renamed-lipc.so"
  h.ok(h.sh(("cp %s %s"):format(h.q(h.abs(lipc.library_path)), h.q(lib))), "copy library")
  h.eq(run_child(root, { LIPC_LIBRARY = lib }, show), "loaded " .. lib .. " " .. lipc.version(), "child")
end

function T.copy_beside_the_binding_comes_next()
  local root = copy_binding("beside", true)
  h.eq(run_child(root, { LIPC_LIBRARY = false }, show),
       "loaded " .. root .. "/lipc/../liblipc.so " .. lipc.version(), "child")
end

function T.rock_on_cpath_comes_next()
  -- What luarocks installs: <tree>/lib/lua/5.1/lipc/liblipc.so, found as the
  -- module "lipc.liblipc" on package.cpath; it beats the build tree (the
  -- real binding directory, whose repo's build/ has a copy).
  local tree = h.tmpdir() .. "/rocktree"
  h.ok(h.sh(("mkdir -p %s/lipc && cp %s %s/lipc/liblipc.so"):format(h.q(tree),
    h.q(h.abs(lipc.library_path)), h.q(tree))), "make a cpath tree")
  local out = run_child(h.binding_dir, { LIPC_LIBRARY = false, LUA_CPATH = tree .. "/?.so" }, show)
  h.eq(out, "loaded " .. tree .. "/lipc/liblipc.so " .. lipc.version(), "child")
end

function T.build_tree_comes_next()
  -- The real binding directory: no copy beside it, the repo's build/ has one.
  local out = run_child(h.binding_dir, { LIPC_LIBRARY = false, LUA_CPATH = "/nonexistent/?.so" }, show)
  h.ok(out:find("/build/liblipc.so " .. lipc.version(), 1, true), "child: " .. out)
end

function T.explicit_library_is_strict()
  -- LIPC_LIBRARY set to something that does not load as lipc is an error
  -- naming it, even with a good copy beside the binding: an explicit choice
  -- is never silently replaced.
  local root = copy_binding("strict", true)
  h.sighelper()
  local not_lipc = h.tmpdir() .. "/sighelper.so"
  local out = run_child(root, { LIPC_LIBRARY = not_lipc }, show)
  h.ok(out:find("^error lipc: cannot load LIPC_LIBRARY=" .. not_lipc:gsub("%p", "%%%0")
                .. ": no lipc_version symbol"), "error: " .. out)
  h.ok(not out:find("liblipc.so.0", 1, true), "no other place tried: " .. out)
  local missing = h.tmpdir() .. "/missing/liblipc.so"
  out = run_child(root, { LIPC_LIBRARY = missing }, show)
  h.ok(out:find("^error lipc: cannot load LIPC_LIBRARY=" .. missing:gsub("%p", "%%%0") .. ": "), "error: " .. out)
  h.ok(out:find("No such file", 1, true) or out:find("cannot open", 1, true), "says why: " .. out)
  -- an empty LIPC_LIBRARY counts as unset
  out = run_child(root, { LIPC_LIBRARY = "" }, show)
  h.eq(out, "loaded " .. root .. "/lipc/../liblipc.so " .. lipc.version(), "empty = unset")
end

function T.error_names_every_place_tried()
  local root = copy_binding("nowhere", false)
  local out = run_child(root, { LIPC_LIBRARY = false, LUA_CPATH = "/nonexistent/?.so" }, show)
  if out:find("^loaded") then h.skip("a system liblipc is installed: " .. out) end
  h.ok(out:find("^error lipc: cannot load liblipc"), "error: " .. out)
  for _, p in ipairs({ root .. "/lipc/../liblipc.so:", root .. "/lipc/../../../build/liblipc.so:",
                       "package.cpath (lipc/liblipc.so): not found",
                       "liblipc.so.0:", "liblipc.so:", "LIPC_LIBRARY" }) do
    h.ok(out:find(p, 1, true), "error names " .. p .. "\n" .. out)
  end
end

return h.posix_only_file(T, "the children run through sh (env, cp, ln); the Windows loader tests are in test_windows.lua")
