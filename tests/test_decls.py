"""Every binding declares exactly the functions of include/lipc.h, with the
same types. A function added to the header and missing or mistyped in a
binding fails here. Run with pytest from the repository root."""
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
HEADER = ROOT / "include" / "lipc.h"


def _norm_type(t):
    t = " ".join(t.replace("*", " * ").split())
    t = t.replace("lipc_handle_t", "int64_t")
    return t.replace(" *", "*").replace("* ", "*").strip()


def _split_param(p):
    """'const int *fds' -> ('const int*', 'fds')"""
    p = " ".join(p.replace("*", " * ").split())
    m = re.match(r"^(.*?)([A-Za-z_][A-Za-z0-9_]*)$", p)
    return _norm_type(m.group(1)), m.group(2)


def parse_prototypes(text):
    """name -> (return type, [param types]) for every lipc_* prototype."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)
    # The export macro is the header's own (dllexport/dllimport on Windows);
    # bindings declare the bare prototypes.
    text = re.sub(r"\bLIPC_API\s+", "", text)
    protos = {}
    for m in re.finditer(r"([A-Za-z_][\w\s\*]*?)\b(lipc_\w+)\s*\(([^;{]*?)\)\s*;", text):
        ret, name, params = m.group(1), m.group(2), m.group(3)
        ret = ret.strip().split("\n")[-1].replace("extern", "")
        ps = [] if params.strip() in ("", "void") else [_split_param(p)[0] for p in params.split(",")]
        protos[name] = (_norm_type(ret), ps)
    return protos


HEADER_PROTOS = parse_prototypes(HEADER.read_text())

# C type -> the ctypes spellings a binding may use for it. Buffers the
# library fills or reads may be c_char_p or c_void_p; a char ** the library
# fills with malloc'd memory must be POINTER(c_void_p), since c_char_p would
# turn the pointer into bytes and lose what lipc_free needs.
PY_TYPES = {
    # On LP64, ctypes' c_int64 *is* c_long (and c_uint32 is c_uint): either name.
    "int": {"c_int"}, "int64_t": {"c_int64", "c_long"}, "uint32_t": {"c_uint32", "c_uint"},
    "size_t": {"c_size_t", "c_ulong"}, "const char*": {"c_char_p"},
    "char*": {"c_char_p", "c_void_p"}, "void": {"None"}, "void*": {"c_void_p"},
    "const void*": {"c_void_p", "c_char_p"}, "int*": {"POINTER(c_int)"},
    "const int*": {"POINTER(c_int)"}, "int64_t*": {"POINTER(c_int64)", "POINTER(c_long)"},
    "size_t*": {"POINTER(c_size_t)", "POINTER(c_ulong)"}, "uint32_t*": {"POINTER(c_uint32)"},
    "char**": {"POINTER(c_void_p)"}, "void**": {"POINTER(c_void_p)"},
}
LISP_TYPES = {
    "int": ":int", "int64_t": ":int64", "uint32_t": ":uint32", "size_t": ":size",
    "const char*": ":string", "void": ":void",
}


def test_header_parses():
    assert "lipc_version" in HEADER_PROTOS and "lipc_sem_open" in HEADER_PROTOS
    assert HEADER_PROTOS["lipc_sem_open"] == (
        "int", ["const char*", "int", "uint32_t", "uint32_t", "int64_t*"])


def _ctypes_name(t):
    if t is None:
        return "None"
    if hasattr(t, "_type_") and t.__name__.startswith("LP_"):
        return "POINTER(%s)" % t._type_.__name__
    return t.__name__


def test_python_declarations():
    import sys
    sys.path.insert(0, str(ROOT / "bindings" / "python"))
    from lipc import _lib
    got = {n: (_ctypes_name(r), [_ctypes_name(a) for a in args]) for n, (r, args) in _lib.FUNCTIONS.items()}
    assert sorted(set(HEADER_PROTOS) - set(got)) == [], "missing in the Python binding"
    assert sorted(set(got) - set(HEADER_PROTOS)) == [], "not in the header"
    for n, (ret, params) in HEADER_PROTOS.items():
        gret, gparams = got[n]
        assert gret in PY_TYPES[ret], (n, "result", gret, ret)
        assert len(gparams) == len(params), (n, "parameter count")
        for i, (g, c) in enumerate(zip(gparams, params)):
            assert g in PY_TYPES[c], (n, "parameter", i, g, c)


def test_luajit_declarations():
    cdef = ROOT / "bindings" / "luajit" / "lipc" / "cdef.lua"
    got = parse_prototypes(cdef.read_text())
    assert sorted(set(HEADER_PROTOS) - set(got)) == [], "missing in the LuaJIT cdef"
    assert sorted(set(got) - set(HEADER_PROTOS)) == [], "not in the header"
    for n in HEADER_PROTOS:
        assert got[n] == HEADER_PROTOS[n], n


def _lisp_type(c):
    if c in LISP_TYPES:
        return LISP_TYPES[c]
    if c.endswith("*"):
        return ":pointer"
    raise AssertionError("no CFFI type for C type %r" % c)


def test_lisp_declarations():
    src = (ROOT / "bindings" / "lisp" / "src" / "ffi.lisp").read_text()
    got = {}
    for m in re.finditer(r'\(cffi:defcfun\s+\("(lipc_\w+)"\s+[^\s)]+\)\s+(:[\w-]+)((?:\s*\([^()]*\))*)\s*\)', src):
        params = re.findall(r"\(\s*[^\s()]+\s+(:[\w-]+)\s*\)", m.group(3))
        got[m.group(1)] = (m.group(2), params)
    want = {n: (_lisp_type(r), [_lisp_type(p) for p in ps]) for n, (r, ps) in HEADER_PROTOS.items()}
    # A `const char *` result may be read as :string or as a raw :pointer.
    for n, (r, ps) in got.items():
        if n in want and want[n][0] == ":string" and r == ":pointer":
            got[n] = (":string", ps)
    assert sorted(set(want) - set(got)) == [], "missing in the Lisp binding"
    assert sorted(set(got) - set(want)) == [], "not in the header"
    for n in want:
        assert got[n] == want[n], n


def test_library_exports_exactly_the_header():
    """Nothing but the header's functions leaves the .so (the version script)."""
    import subprocess
    lib = ROOT / "build" / "liblipc.so"
    if not lib.exists():
        pytest.fail("build/liblipc.so missing: run make")
    out = subprocess.run(["nm", "-D", "--defined-only", str(lib)], capture_output=True, text=True, check=True).stdout
    exported = {line.split()[-1] for line in out.splitlines() if " T " in line}
    assert exported == set(HEADER_PROTOS)


@pytest.mark.parametrize("source", ["capi/errors.c", "core/lerr/lerr.go"])
def test_error_tables_match_header(source):
    codes = dict(re.findall(r"#define (LIPC_E[A-Z]+) (-\d+)", HEADER.read_text()))
    codes.pop("LIPC_EOS_BASE", None)
    text = (ROOT / source).read_text()
    if source.endswith(".c"):
        names = set(re.findall(r'X\((LIPC_E[A-Z]+),', text))
        assert names == set(codes)
    else:
        values = {int(v) for v in re.findall(r"\bCode = (-\d+)", text)}
        assert values >= {int(v) for v in codes.values()}
