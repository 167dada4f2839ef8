#!/usr/bin/env python3
"""Runs every code block of every Markdown file a user reads, and checks
every link, so that the documentation cannot rot (issue 10, item 7).

    python3 tests/docs/check_docs.py [FILE.md ...]    # default: every *.md of the repository
    python3 tests/docs/check_docs.py --selftest       # finds each fault of broken.md.in?

Blocks run as written, from the repository's root, after `make`, as the
READMEs tell a user to run them: each fenced block says its language in its
info string, and that decides how it runs:

    c        a complete program: cc -Wall -Wextra -Werror against include/ and
             build/liblipc.so, then run; a call of lipc_* whose result is
             thrown away (but lipc_free, lipc_close) is refused, so examples
             handle errors
    python   python3, PYTHONPATH=bindings/python
    lua      luajit, LUA_PATH='bindings/luajit/?.lua;bindings/luajit/?/init.lua;;'
    lisp     sbcl (ASDF required, bindings/lisp/ on asdf:*central-registry*)
    sh       bash -e
    text     not code: a layout, a synopsis, output (never run)

Every block runs with LIPC_LIBRARY=build/liblipc.so and must exit 0 within
its time. A code block that deliberately does not run (it runs the whole
test suite, or for minutes) says so with the word `norun` after its
language (```sh norun); they are listed, and should stay few. A block
without an info string, an unknown one, or an indented code block is an
error: every block says what it is.

As root (CI, `make test`), each block runs in its own mount namespace with
empty /dev/shm and /tmp: blocks cannot collide with other runs over names,
and whatever a block leaves in /dev/shm (a named object it forgot to
unlink) is an error. The repository's tree must be unchanged afterwards.

Links: every Markdown link must point inside the repository, at a file or
folder that exists; a URL, or a path that leaves the repository (like
../shared/), is an error, and so is a path of the machine (/work/...)
written in the text.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LIB = os.path.join(ROOT, "build", "liblipc.so")
TIMEOUT = {"c": 60, "python": 120, "lua": 120, "lisp": 300, "sh": 120}
LANGS = set(TIMEOUT) | {"text"}
# Functions whose result an example may ignore: they free, or close (closing
# twice is harmless, and a close at the end has no one left to tell).
IGNORABLE = {"lipc_free", "lipc_close"}

FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})\s*(.*)$")
LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
AUTO_LINK = re.compile(r"<((?:https?|ftp|mailto|file):[^>\s]+)>")
MACHINE_PATH = re.compile(r"(?<![\w.])(/work/|\.\./shared/)")
LIST_ITEM = re.compile(r"^\s*([-*+]|\d+[.)])\s")


@dataclass
class Block:
    path: str
    line: int
    lang: str
    flags: List[str]
    text: str


@dataclass
class Report:
    failures: List[str] = field(default_factory=list)
    ran: int = 0
    not_run: List[str] = field(default_factory=list)
    links: int = 0

    def fail(self, where: str, what: str) -> None:
        self.failures.append(f"{where}: {what}")
        print(f"FAIL {where}: {what}", flush=True)


def markdown_files() -> List[str]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return sorted(p for p in out.splitlines() if os.path.exists(os.path.join(ROOT, p)))


def parse(path: str, text: str, report: Report) -> Tuple[List[Block], List[Tuple[int, str]]]:
    """The fenced blocks of a Markdown file, and its prose lines (for links)."""
    blocks: List[Block] = []
    prose: List[Tuple[int, str]] = []
    lines = text.splitlines()
    i, prev_blank, prev_prose = 0, True, ""
    while i < len(lines):
        line = lines[i]
        m = FENCE.match(line)
        if m:
            fence, info, start = m.group(2), m.group(3).split(), i + 1
            body: List[str] = []
            i += 1
            while i < len(lines) and not (lines[i].strip().startswith(fence[0] * len(fence))
                                          and lines[i].strip().strip(fence[0]) == ""):
                body.append(lines[i][len(m.group(1)):] if lines[i].startswith(m.group(1)) else lines[i])
                i += 1
            if i == len(lines):
                report.fail(f"{path}:{start}", "code block never closed")
            i += 1
            where = f"{path}:{start}"
            if not info:
                report.fail(where, "code block without an info string: say its language "
                                   f"({', '.join(sorted(LANGS))}; `norun` after it if it must not run)")
            elif info[0] not in LANGS:
                report.fail(where, f"unknown info string {info[0]!r} (known: {', '.join(sorted(LANGS))})")
            elif [f for f in info[1:] if f != "norun"]:
                report.fail(where, f"unknown flags {info[1:]} (only `norun`)")
            else:
                blocks.append(Block(path, start, info[0], info[1:], "\n".join(body) + "\n"))
            prev_blank, prev_prose = False, ""
            continue
        indented = line.startswith("    ") and line.strip()
        if indented and prev_blank and not LIST_ITEM.match(prev_prose) \
                and not (prev_prose.startswith("  ") or prev_prose.startswith("|")):
            report.fail(f"{path}:{i + 1}", "indented code block: fence it and give its language "
                                          "(or `text` if it is not code)")
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                i += 1
            continue
        prose.append((i + 1, line))
        if line.strip():
            prev_prose = line
        prev_blank = not line.strip()
        i += 1
    return blocks, prose


def check_links(path: str, prose: List[Tuple[int, str]], report: Report) -> None:
    base = os.path.dirname(os.path.join(ROOT, path))
    for n, line in prose:
        where = f"{path}:{n}"
        code_free = re.sub(r"`[^`]*`", "", line)  # a path inside `code` is not a link...
        targets = LINK.findall(code_free) + AUTO_LINK.findall(code_free)
        m = REF_LINK.match(code_free)
        if m:
            targets.append(m.group(1))
        for target in targets:
            report.links += 1
            if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target):
                report.fail(where, f"link {target!r} points outside the repository")
                continue
            rel = target.split("#", 1)[0]
            if not rel:
                continue  # an anchor in this file
            dest = os.path.realpath(os.path.join(ROOT if rel.startswith("/") else base, rel.lstrip("/")))
            if dest != ROOT and not dest.startswith(ROOT + os.sep):
                report.fail(where, f"link {target!r} leaves the repository")
            elif not os.path.exists(dest):
                report.fail(where, f"link {target!r}: no such file in the repository")
        m2 = MACHINE_PATH.search(line)  # ...but a machine's path is no use to a reader, even there
        if m2:
            report.fail(where, f"{m2.group(1)!r}: a path outside the repository")


def ignored_results(code: str) -> List[str]:
    """lipc_* calls made as statements of their own: their result is thrown away."""
    code = re.sub(r"/\*.*?\*/|//[^\n]*", " ", code, flags=re.S)       # comments
    code = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', code)                   # strings
    bad = []
    for m in re.finditer(r"\b(lipc_\w+)\s*\(", code):
        prev = code[:m.start()].rstrip()
        if m.group(1) in IGNORABLE or prev.endswith("(void)"):
            continue
        if not prev or prev[-1] in ";{})" or re.search(r"\belse$", prev):
            bad.append(m.group(1))
    return bad


def isolated() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    r = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs tmpfs /dev/shm"],
                       capture_output=True)
    return r.returncode == 0


# Run inside a private mount namespace: fresh /dev/shm and /tmp, and a block
# that leaves a named object behind fails.
# (unshare -m makes the new mounts private: the host never sees them.)
# /tmp stays shared when the checkout itself lives under it (a clone in /tmp:
# the block's own files are there).
WRAP = r'''mount -t tmpfs -o mode=1777 tmpfs /dev/shm || exit 96
[ "$DOCS_PRIVATE_TMP" = 1 ] && { mount -t tmpfs -o mode=1777 tmpfs /tmp || exit 96; }
"$@"; rc=$?
# lipc.flockwake.UID is lipc's one shared page per user for waking file-lock
# waiters (include/lipc.h): it stays by design.
left=$(ls -A /dev/shm | grep -v '^lipc\.flockwake\.[0-9]*$')
if [ -n "$left" ]; then echo "left in /dev/shm (not unlinked): $left" >&2; [ $rc -eq 0 ] && rc=97; fi
exit $rc'''


def command(block: Block, work: str) -> Optional[List[str]]:
    src = os.path.join(work, "block")
    if block.lang == "c":
        with open(src + ".c", "w") as f:
            f.write(block.text)
        cc = os.environ.get("CC", "cc")
        r = subprocess.run([cc, "-Wall", "-Wextra", "-Werror", "-O2", "-I" + os.path.join(ROOT, "include"),
                            "-o", src, src + ".c", "-L" + os.path.dirname(LIB), "-llipc", "-lpthread",
                            "-Wl,-rpath," + os.path.dirname(LIB)], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("does not compile with -Wall -Wextra -Werror:\n" + r.stdout + r.stderr)
        bad = ignored_results(block.text)
        if bad:
            raise RuntimeError(f"throws away the result of {', '.join(bad)}: handle errors")
        return [src]
    ext = {"python": ".py", "lua": ".lua", "lisp": ".lisp", "sh": ".sh"}[block.lang]
    with open(src + ext, "w") as f:
        f.write(block.text)
    if block.lang == "python":
        return [sys.executable, src + ext]
    if block.lang == "lua":
        return ["luajit", src + ext]
    if block.lang == "sh":
        return ["bash", "-e", src + ext]
    return ["sbcl", "--noinform", "--non-interactive", "--no-sysinit", "--no-userinit",
            "--eval", "(require :asdf)",
            "--eval", f'(push #p"{ROOT}/bindings/lisp/" asdf:*central-registry*)',
            "--load", src + ext]


def run_block(block: Block, private: bool, report: Report) -> None:
    where = f"{block.path}:{block.line} {block.lang}"
    if block.lang == "text" or "norun" in block.flags:
        report.not_run.append(f"{where}{' norun' if 'norun' in block.flags else ''}")
        return
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)  # not /tmp: that is private to the block
    work = tempfile.mkdtemp(prefix="docs-block-", dir=os.path.join(ROOT, "build"))
    try:
        try:
            argv = command(block, work)
        except RuntimeError as e:
            report.fail(where, str(e))
            return
        assert argv is not None
        under_tmp = os.path.realpath(ROOT).startswith(os.path.realpath("/tmp") + os.sep)
        env = dict(os.environ, LIPC_LIBRARY=LIB, PYTHONPATH="bindings/python",
                   LUA_PATH="bindings/luajit/?.lua;bindings/luajit/?/init.lua;;",
                   DOCS_PRIVATE_TMP="0" if under_tmp else "1")
        if private:
            argv = ["unshare", "-m", "sh", "-c", WRAP, "sh"] + argv
        t0 = time.monotonic()
        # Its own process group, so that a block that times out is ended whole.
        p = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, text=True, start_new_session=True)
        try:
            out, _ = p.communicate(timeout=TIMEOUT[block.lang])
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            report.fail(where, f"still running after {TIMEOUT[block.lang]} s")
            return
        r = subprocess.CompletedProcess(argv, p.returncode, out, "")
        if r.returncode != 0:
            lines = (r.stdout + r.stderr).strip().splitlines()
            if len(lines) > 30:  # SBCL's message comes first, its backtrace after
                lines = lines[:15] + ["..."] + lines[-12:]
            report.fail(where, f"exit status {r.returncode}:\n    " + "\n    ".join(lines))
            return
        report.ran += 1
        print(f"ok   {where} ({time.monotonic() - t0:.1f} s)", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def tree_state() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--ignored=no"], cwd=ROOT,
                          capture_output=True, text=True).stdout


# What --selftest must find in tests/docs/broken.md.in (kept out of the *.md
# set by its name): each fault once, and nothing else.
SELFTEST_EXPECTED = [
    ":3 lisp: exit status 1", ":8 python: exit status 3", ":13 lua: exit status 97",
    ":18 c: throws away the result of lipc_sem_open", ":27 c: does not compile",
    ":31 sh: exit status 4", ":35: code block without an info string",
    ":39: unknown info string 'ruby'", "link 'https://example.org/' points outside",
    "link '../../../shared/design/x.md' leaves the repository", "'../shared/': a path outside",
    "link 'no-such-file.md': no such file", "'/work/': a path outside the repository",
    ":47: indented code block",
]


def selftest() -> int:
    """Runs the checker on a file with known faults: each must be reported."""
    src = os.path.join(ROOT, "tests", "docs", "broken.md.in")
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    dst = os.path.join(ROOT, "build", "docs-selftest.md")
    shutil.copyfile(src, dst)
    r = subprocess.run([sys.executable, __file__, dst], capture_output=True, text=True, timeout=900)
    expected, ran = list(SELFTEST_EXPECTED), 1
    if not isolated():
        ran = 2
        # Without a private /dev/shm a block's leftovers cannot be told from
        # others': that fault goes unseen, and its semaphore is removed here.
        expected.remove(":13 lua: exit status 97")
        try:
            os.unlink("/dev/shm/sem.selftest-left")
        except FileNotFoundError:
            pass
    fails = [ln[5:] for ln in r.stdout.splitlines() if ln.startswith("FAIL ")]
    missing = [e for e in expected if not any(e in f for f in fails)]
    extra = [f for f in fails if not any(e in f for e in expected)]
    ok = r.returncode == 1 and not missing and not extra and "2 not run" in r.stdout \
        and f"{ran} blocks ran" in r.stdout
    print(f"docs selftest: {len(fails)} faults found in broken.md.in; "
          f"missed {missing or 'none'}; unexpected {extra or 'none'}: {'ok' if ok else 'FAILED'}")
    if not ok:
        print(r.stdout[-3000:])
    return 0 if ok else 1


def main(argv: List[str]) -> int:
    if argv == ["--selftest"]:
        return selftest()
    report = Report()
    files = [os.path.relpath(os.path.abspath(p), ROOT) for p in argv] or markdown_files()
    if not os.path.exists(LIB):
        print(f"{LIB} is missing: run make first")
        return 1
    private = isolated()
    print(f"docs: {len(files)} Markdown files; blocks run "
          f"{'each in a private /dev/shm and /tmp' if private else 'in the shared /dev/shm (not root)'}")
    before = tree_state()
    parsed: Dict[str, List[Block]] = {}
    for path in files:
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            blocks, prose = parse(path, f.read(), report)
        check_links(path, prose, report)
        parsed[path] = blocks
    for path in files:
        for block in parsed[path]:
            run_block(block, private, report)
    after = tree_state()
    if after != before:
        report.fail("tree", "the blocks changed the repository's files:\n" + after)
    for entry in report.not_run:
        print(f"not run: {entry}")
    print(f"docs: {report.ran} blocks ran, {len(report.not_run)} not run (text or norun), "
          f"{report.links} links checked, {len(report.failures)} failures")
    if report.failures:
        print("failures:\n  " + "\n  ".join(f.splitlines()[0] for f in report.failures))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
