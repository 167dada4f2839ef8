"""Builds the lipc wheel: the ctypes package plus liblipc.so inside it
(pyproject.toml holds the rest of the metadata).

Where the library comes from, in order:

1. ``lipc/liblipc.so`` already in the package (``make dist`` copies the
   build tree's library there);
2. otherwise it is built from the Go sources with the lipc Makefile: the
   sdist carries them (Go modules vendored, so no network is needed), and in
   the source tree they are two directories up. That needs Go (at least
   go.mod's ``go`` version), a C compiler and make; when one is missing the
   build stops with a message naming it.

The version is read from include/lipc.h, the one place it is written.
The wheel is tagged for the platform (the library is Linux x86-64 code) and
for any Python 3 (the package is pure ctypes, no CPython ABI).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))


def go_tree() -> str:
    """The directory with go.mod, capi/ and the Makefile: the sdist's root,
    or the repository root when building from the source tree."""
    for d in (HERE, os.path.normpath(os.path.join(HERE, "..", ".."))):
        if all(os.path.exists(os.path.join(d, f)) for f in ("go.mod", "capi", "include", "Makefile")):
            return d
    sys.exit("lipc: cannot build liblipc: neither lipc/liblipc.so nor the lipc C/Go sources "
             "(go.mod, capi/, include/, Makefile) are here; build from the lipc sdist or source tree.")


def version() -> str:
    # The header alone is enough (the Windows wheel's stage has no Go tree).
    header = next((h for h in (os.path.join(d, "include", "lipc.h")
                               for d in (HERE, os.path.normpath(os.path.join(HERE, "..", ".."))))
                   if os.path.exists(h)), None) or os.path.join(go_tree(), "include", "lipc.h")
    with open(header) as f:
        m = re.search(r'^#define LIPC_VERSION_STRING "([^"]+)"', f.read(), re.M)
    if not m:
        sys.exit(f"lipc: no LIPC_VERSION_STRING in {header}")
    return m.group(1)


def _go_version(go: str, cwd: str) -> str:
    env = dict(os.environ, GOTOOLCHAIN="local")
    out = subprocess.run([go, "env", "GOVERSION"], cwd="/", env=env,
                         capture_output=True, text=True).stdout.strip()
    m = re.match(r"go(\d+(?:\.\d+)*)", out)
    return m.group(1) if m else ""


def _vtuple(v: str) -> tuple:
    return tuple(int(x) for x in v.split("."))


def missing_tools(tree: str) -> list:
    """What building liblipc from source needs and this machine lacks."""
    with open(os.path.join(tree, "go.mod")) as f:
        need = re.search(r"^go (\S+)", f.read(), re.M).group(1)
    missing = []
    go = os.environ.get("GO") or shutil.which("go")
    if not go:
        missing.append(f"Go >= {need} (`go` is not on the PATH; https://go.dev/dl/, "
                       "or set GO to a go binary)")
    else:
        have = _go_version(go, tree)
        if not have or _vtuple(have) < _vtuple(need):
            missing.append(f"Go >= {need} ({go} is Go {have or '?'})")
    cc = os.environ.get("CC", "cc").split()[0]
    if not shutil.which(cc):
        missing.append(f"a C compiler (`{cc}` is not on the PATH; cgo needs one, e.g. gcc)")
    if not shutil.which("make"):
        missing.append("make")
    return missing


class BuildPyWithLibrary(build_py):
    """Puts liblipc.so into the built package, building it when needed."""

    def run(self) -> None:
        super().run()
        dest = os.path.join(self.build_lib, "lipc", "liblipc.so")
        # make dist copies liblipc.so in (lipc.dll for the Windows wheel,
        # scripts/windows/wheel.sh); package_data copied it.
        if any(os.path.exists(os.path.join(HERE, "lipc", n)) for n in ("liblipc.so", "lipc.dll")):
            return
        tree = go_tree()
        missing = missing_tools(tree)
        if missing:
            sys.exit("lipc: cannot build liblipc.so from source; missing:\n  - " +
                     "\n  - ".join(missing) +
                     "\n(or install a lipc wheel, which carries the library)")
        cmd = ["make", "-C", tree, "build/liblipc.so"]
        if os.environ.get("GO"):
            cmd.append("GO=" + os.environ["GO"])
        subprocess.check_call(cmd)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(os.path.join(tree, "build", "liblipc.so"), dest)
        os.chmod(dest, 0o755)


class BinaryDistribution(Distribution):
    def has_ext_modules(self) -> bool:  # the wheel always carries liblipc.so
        return True


cmdclass = {"build_py": BuildPyWithLibrary}
try:
    from setuptools.command.bdist_wheel import bdist_wheel  # setuptools >= 70.1
except ImportError:  # pragma: no cover
    from wheel.bdist_wheel import bdist_wheel  # type: ignore


class BdistWheelAnyPython(bdist_wheel):
    def get_tag(self):  # type: ignore[no-untyped-def]
        _, _, plat = super().get_tag()
        return "py3", "none", plat


cmdclass["bdist_wheel"] = BdistWheelAnyPython

setup(version=version(), distclass=BinaryDistribution, cmdclass=cmdclass)
