"""Checked by mypy --strict, never run: lipc's Popen, run() and
check_output() have typeshed's subprocess types (bytes by default, str in
text mode)."""
from __future__ import annotations

from typing import Any, Optional

from typing_extensions import assert_type

import lipc

assert_type(lipc.Popen(["ls"]), lipc.Popen[bytes])
assert_type(lipc.Popen(["ls"], stdout=lipc.PIPE, text=True), lipc.Popen[str])
assert_type(lipc.Popen("ls", shell=True, encoding="utf-8"), lipc.Popen[str])
assert_type(lipc.Popen(["ls"], errors="replace"), lipc.Popen[str])
assert_type(lipc.Popen(["ls"], universal_newlines=True), lipc.Popen[str])
assert_type(lipc.Popen(["ls"], -1, None, None, lipc.PIPE), lipc.Popen[bytes])

p = lipc.Popen(["cat"], stdin=lipc.PIPE, stdout=lipc.PIPE)
if p.stdout is not None:
    assert_type(p.stdout.read(), bytes)
assert_type(p.communicate(b"x"), tuple[Any, Any])
t = lipc.Popen(["cat"], stdin=lipc.PIPE, text=True)
if t.stdin is not None:
    assert_type(t.stdin.write("x"), int)
assert_type(p.wait(), int)
assert_type(p.returncode, Optional[int])

assert_type(lipc.run(["ls"]), lipc.CompletedProcess[bytes])
assert_type(lipc.run(["ls"], capture_output=True, text=True).stdout, str)
assert_type(lipc.run(["ls"], input=b"x").stdout, bytes)
assert_type(lipc.run(["ls"], input="x", encoding="utf-8"), lipc.CompletedProcess[str])
assert_type(lipc.check_output(["ls"]), bytes)
assert_type(lipc.check_output(["ls"], text=True), str)
assert_type(lipc.check_output("ls", shell=True, universal_newlines=True), str)
assert_type(lipc.getoutput("ls"), str)
assert_type(lipc.getstatusoutput("ls"), tuple[int, str])
