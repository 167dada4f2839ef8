"""The loader: declarations applied to every function, the lookup order, the
error that names every place tried. (What the sdist and wheel carry is
checked by scripts/test.sh's packaging stages, on the built files.) Loading a
second library copy would start a second Go runtime, so every lookup runs
in a child interpreter over a copy of the package in a temporary tree."""
from __future__ import annotations

import ctypes.util
import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import BUILD_LIB, HEADER, PYDIR, WINDOWS, posix_only

import lipc
from lipc import _lib


def header_functions():
    with open(HEADER) as f:
        text = re.sub(r"/\*.*?\*/", " ", f.read(), flags=re.S)
    return set(re.findall(r"\b(lipc_\w+)\s*\(", text)) - {"lipc_handle_t"}


def test_every_function_is_declared():
    assert set(_lib.FUNCTIONS) == header_functions()
    assert len(_lib.FUNCTIONS) >= 52
    for name, (restype, argtypes) in _lib.FUNCTIONS.items():
        fn = getattr(_lib.lib, name)
        assert fn.restype is restype, name
        assert fn.argtypes == argtypes, name
    # F13: without declarations a 64-bit handle would be cut to 32 bits.
    assert _lib.lib.lipc_close(2**52 + 5) == lipc.Code.EBADHANDLE


@posix_only("the .so names (test_windows.py checks the DLL's)")
def test_candidates_order():
    got = _lib.candidates({"LIPC_LIBRARY": "/x/liblipc.so"})
    here = os.path.dirname(_lib.__file__)
    assert got == [
        ("$LIPC_LIBRARY", "/x/liblipc.so"),
        ("package", os.path.join(here, "liblipc.so")),
        ("build tree", os.path.normpath(os.path.join(here, "..", "..", "..", "build", "liblipc.so"))),
        ("system loader", "liblipc.so.0"),
        ("system loader", "liblipc.so"),
    ]
    assert [w for w, _ in _lib.candidates({})][0] == "package"


def libm_path():
    """The file of the C math library (a real .so that is not liblipc);
    on Windows a system DLL that is not lipc.dll."""
    if WINDOWS:
        return os.path.join(os.environ.get("SystemRoot", r"C:\windows"), "System32", "version.dll")
    ctypes.CDLL(ctypes.util.find_library("m"))
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if "/libm." in path or "/libm-" in path:
                return path
    pytest.skip("cannot find libm's file")


@pytest.fixture
def tree(tmp_path):
    """A fake source tree: <tmp>/bindings/python/lipc (no .so) and <tmp>/build."""
    pkg = tmp_path / "bindings" / "python" / "lipc"
    shutil.copytree(os.path.join(PYDIR, "lipc"), pkg,
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.dll"))
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "windows").mkdir()
    return tmp_path


def build_of(tree):
    """Where the loader looks in a source tree's build directory."""
    return tree.joinpath(*_lib._BUILD_SUBDIR, _lib.LIBNAME)


def package_of(tree):
    return tree / "bindings" / "python" / "lipc" / _lib.LIBNAME


def load_in_child(tree, **env):
    e = {k: v for k, v in os.environ.items() if k not in ("LIPC_LIBRARY", "LD_LIBRARY_PATH")}
    e.update(env)
    e["PYTHONPATH"] = str(tree / "bindings" / "python")
    return subprocess.run([sys.executable, "-c", "import lipc._lib as L; print(L.PATH)"],
                          env=e, capture_output=True, text=True, timeout=30, cwd=str(tree))


def test_lookup_order(tree):
    build = build_of(tree)
    package = package_of(tree)
    shutil.copy(BUILD_LIB, build)
    p = load_in_child(tree)
    assert p.stdout.strip() == str(build), p.stderr  # 3rd: the build tree
    shutil.copy(BUILD_LIB, package)
    p = load_in_child(tree)
    assert p.stdout.strip() == str(package), p.stderr  # 2nd beats 3rd
    p = load_in_child(tree, LIPC_LIBRARY=BUILD_LIB)
    assert p.stdout.strip() == BUILD_LIB, p.stderr  # 1st beats 2nd


@pytest.mark.parametrize("bad", ["wrong library", "missing file"])
def test_lipc_library_is_strict(tree, bad):
    # An explicit LIPC_LIBRARY that fails is an error naming it, even with
    # good copies in the package and the build tree: never a silent fallback.
    shutil.copy(BUILD_LIB, build_of(tree))
    shutil.copy(BUILD_LIB, package_of(tree))
    path = libm_path() if bad == "wrong library" else str(tree / "nope" / _lib.LIBNAME)
    p = load_in_child(tree, LIPC_LIBRARY=path)
    assert p.returncode != 0 and p.stdout == "", p.stdout
    assert f"LibraryLoadError: lipc: cannot load $LIPC_LIBRARY={path}: " in p.stderr, p.stderr
    assert ("not liblipc" if bad == "wrong library" else "no such file") in p.stderr
    assert "package" not in p.stderr.split("LibraryLoadError")[1].splitlines()[0]


def test_error_names_every_place_tried(tree):
    # Without LIPC_LIBRARY: a wrong library in the package, nothing in the
    # build tree, nothing the system loader finds.
    package = package_of(tree)
    shutil.copy(libm_path(), package)
    p = load_in_child(tree)
    assert p.returncode != 0
    err = p.stderr
    assert "LibraryLoadError: lipc: cannot load liblipc" in err
    for where, path in [("package", str(package)),
                        ("build tree", str(build_of(tree))),
                        *[("system loader", n) for n in _lib._SYSTEM_NAMES]]:
        assert f"{where}: {path}: " in err, (where, err)
    assert "not liblipc" in err and "LIPC_LIBRARY" in err.splitlines()[-1]
