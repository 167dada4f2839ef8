#!/usr/bin/env python3
"""Packs the LuaJIT binary rock for Windows x64 (lipc-V-1.win32-x86_64.rock)
on Linux: luarocks packs binary rocks only for the platform it runs on, and
it does not run under Wine here. A binary rock is a zip of what `luarocks
install` copies into the tree: lua/ (the modules, build.install.lua of the
rockspec), lib/ (build.platforms.windows.install.lib: lipc/lipc.dll), doc/,
the rockspec, and rock_manifest (a Lua table of every file's MD5).
    scripts/windows/rock.py ROCKSPEC LIPC_DLL OUT_DIR
"""
import hashlib, os, re, subprocess, sys, zipfile

spec_path, dll, out = sys.argv[1:4]
spec_text = open(spec_path).read()
name = os.path.basename(spec_path)
m = re.match(r"lipc-(.+)\.rockspec$", name)
version = m.group(1)

# The rockspec's install lists, read by Lua itself (it is a Lua file).
lua = r'''
local spec = {}
assert(setfenv(assert(loadfile(os.getenv("ROCKSPEC"))), spec))()
for mod, file in pairs(spec.build.install.lua) do print("lua", mod, file) end
for mod, file in pairs(spec.build.platforms.windows.install.lib) do print("lib", mod, file) end
for _, d in ipairs({"README.md", "LICENSE", "CHANGELOG.md"}) do print("doc", d, d) end
'''
rows = subprocess.run(["luajit", "-e", lua], check=True, capture_output=True, text=True,
                      env=dict(os.environ, ROCKSPEC=spec_path)).stdout.split("\n")

files = {}  # path in the rock -> source file
for row in rows:
    if not row:
        continue
    kind, mod, src = row.split("\t")
    if kind == "doc":
        if os.path.exists(src):
            files["doc/" + src] = src
        continue
    parts = mod.split(".")
    if kind == "lua":
        if os.path.basename(src) == "init.lua":
            parts.append("init")
        files["lua/" + "/".join(parts) + ".lua"] = src
    else:
        files["lib/" + "/".join(parts) + ".dll"] = dll if src.endswith(".dll") else src
files[name] = spec_path


def md5(path):
    return hashlib.md5(open(path, "rb").read()).hexdigest()


def lua_table(tree, indent=1):
    pad = "   " * indent
    out = []
    for k in sorted(tree):
        v = tree[k]
        key = k if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", k) else '["%s"]' % k
        if isinstance(v, dict):
            out.append("%s%s = {\n%s\n%s}" % (pad, key, lua_table(v, indent + 1), pad))
        else:
            out.append('%s%s = "%s"' % (pad, key, v))
    return ",\n".join(out)


tree = {}
for path, src in files.items():
    node = tree
    parts = path.split("/")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = md5(src)
manifest = "rock_manifest = {\n" + lua_table(tree) + "\n}\n"

rock = os.path.join(out, "lipc-%s.win32-x86_64.rock" % version)
with zipfile.ZipFile(rock, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("rock_manifest", manifest)
    for path, src in sorted(files.items()):
        z.write(src, path)
print(rock)
