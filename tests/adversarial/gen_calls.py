#!/usr/bin/env python3
"""gen_calls.py - reads include/lipc.h and writes the C the call fuzzer is
built from, so that every function the header declares is fuzzed, including
ones added after this file was written:

  - FZ_FUNCS(X): every declared function, for dlsym;
  - the error codes the header defines;
  - per function: the codes its comment documents (LIPC_E* named in the
    comment, "Errors: as lipc_other" followed, "OS errors" or "its errno"
    allowing any LIPC_EOS_BASE - errno), whether it "works after fork";
  - per function: a stub that draws each argument from the argument class
    its type and name say (classify() below) and makes the call.

A parameter this script cannot classify stops the build with a message that
says what to add: a new function is fuzzed only if its arguments can be
drawn safely (a path must stay inside the fuzzer's directory, a program must
come from the fixed safe list, ...).

    gen_calls.py include/lipc.h OUT.h
"""
import re
import sys

# What each handle-taking function expects, from its name.
KIND_OF_PREFIX = [
    ("lipc_sem_", "LIPC_KIND_SEM"),
    ("lipc_mutex_", "LIPC_KIND_MUTEX"),
    ("lipc_event_", "LIPC_KIND_EVENT"),
    ("lipc_shm_", "LIPC_KIND_SHM"),
    ("lipc_mmap_", "LIPC_KIND_MMAP"),
    ("lipc_flock_", "LIPC_KIND_FLOCK"),
    ("lipc_spawnattr_", "LIPC_KIND_SPAWNATTR"),
    ("lipc_proc_", "LIPC_KIND_PROC"),
]
ANY_KIND_FUNCS = {"lipc_close", "lipc_handle_kind"}
NAMED_PREFIXES = ("lipc_sem_", "lipc_mutex_", "lipc_event_", "lipc_shm_")


class Unclassified(Exception):
    pass


def handle_kind(fn, pname):
    if pname == "attr":
        return "LIPC_KIND_SPAWNATTR"
    if pname == "proc":
        return "LIPC_KIND_PROC"
    if pname == "h":
        if fn in ANY_KIND_FUNCS:
            return "0"
        for prefix, kind in KIND_OF_PREFIX:
            if fn.startswith(prefix):
                return kind
    raise Unclassified("a handle parameter whose kind the function name does not say")


def int_class(fn, ctype, pname):
    """The FZI_* class of a scalar integer parameter."""
    by_name = {
        "mode": "FZI_MODE",
        "manual_reset": "FZI_BOOL", "initially_set": "FZI_BOOL", "async": "FZI_BOOL",
        "classic": "FZI_BOOL", "exclusive": "FZI_BOOL", "group": "FZI_BOOL",
        "search": "FZI_BOOL", "setsid": "FZI_BOOL",
        "timeout_ms": "FZI_TIMEOUT", "grace_ms": "FZI_TIMEOUT",
        "offset": "FZI_OFFSET", "length": "FZI_LENGTH",
        "access": "FZI_ACCESS", "advice": "FZI_ADVICE",
        "sig": "FZI_SIG", "fd": "FZI_FD", "child_fd": "FZI_CHILDFD",
        "resource": "FZI_RESOURCE", "soft": "FZI_RLIM", "hard": "FZI_RLIM",
        "policy": "FZI_POLICY", "mask": "FZI_UMASK", "pgid": "FZI_PGID",
        "code": "FZI_CODE", "max_output": "FZI_MAXOUT", "n": "FZI_COUNT",
        "uid": "FZI_ID", "gid": "FZI_ID", "bytes": "FZI_PIPESIZE", "keep": "FZI_BOOL", "on": "FZI_BOOL",
    }
    if pname == "flags":
        if fn.startswith(NAMED_PREFIXES):
            return "FZI_NAMED_FLAGS"
        if fn == "lipc_mmap_open":
            return "FZI_MMAP_FLAGS"
        if fn in ("lipc_flock_open", "lipc_spawnattr_set_fd"):
            return "FZI_FILE_FLAGS"
        raise Unclassified("flags of an unknown family")
    if fn == "lipc_flock_from_fd" and pname == "kind":
        return "FZI_FLOCK_KIND"
    if pname == "value" and ctype == "uint32_t":
        return "FZI_SEMVALUE"
    if pname == "size" and ctype == "int64_t":
        return "FZI_SHMSIZE"
    if pname == "what":
        if fn == "lipc_diag":
            return "FZI_DIAG_WHAT"
        if fn == "lipc_proc_info":
            return "FZI_PROC_WHAT"
        raise Unclassified("a figure selector of an unknown family")
    if pname == "mode" and fn == "lipc_set_call_mode":
        return "FZI_CALLMODE"
    if pname == "mode" and fn == "lipc_spawnattr_set_sigreset":
        return "FZI_POLICY"  # 0, 1 and bad values, as the close policies
    if pname == "kind" and fn == "lipc_spawnattr_set_fd":
        return "FZI_FDKIND"
    if pname == "arg" and fn == "lipc_spawnattr_set_fd":
        return "FZI_FDARG"
    if fn == "lipc_set_call_mode" and pname == "mode":
        return "FZI_CALLMODE"
    if pname in by_name:
        if pname == "mode" and ctype != "uint32_t":
            raise Unclassified("an int mode of an unknown family")
        return by_name[pname]
    raise Unclassified("an integer parameter")


def str_class(fn, pname):
    if pname == "name":
        if fn.startswith(NAMED_PREFIXES):
            return "FZS_NAME"
        if fn == "lipc_env_get":
            return "FZS_ENVNAME_R"
        if fn.startswith("lipc_env_") or fn.startswith("lipc_spawnattr_env_"):
            return "FZS_ENVNAME_W"
    if pname == "path":
        return "FZS_FDPATH" if fn == "lipc_spawnattr_set_fd" else "FZS_PATH"
    if pname == "dir":
        return "FZS_DIR"
    if pname == "program":
        return "FZS_PROGRAM"
    if pname == "arg":
        if fn == "lipc_spawnattr_arg":
            return "FZS_ARGV"
        if fn.startswith("lipc_quote_"):
            return "FZS_QUOTE"
    if pname == "command":
        return "FZS_COMMAND"
    if pname == "value" and (fn.startswith("lipc_env_") or fn.startswith("lipc_spawnattr_env_")):
        return "FZS_ENVVALUE"
    raise Unclassified("a string parameter")


OUT_SCALARS = {
    ("int *", "kind"), ("int *", "value"), ("int *", "code"), ("int *", "sig"),
    ("int *", "owner_died"), ("int *", "is_set"), ("int *", "locked"), ("int *", "fd"), ("int *", "nready"),
    ("int64_t *", "value"), ("int64_t *", "pid"), ("int64_t *", "size"),
    ("size_t *", "needed"), ("size_t *", "out_len"), ("size_t *", "err_len"), ("size_t *", "len"),
    ("size_t *", "nread"), ("size_t *", "nwritten"), ("size_t *", "n"), ("void **", "addr"),
}
OUT_BLOCKS = {("char **", "out"), ("char **", "err"), ("char **", "block")}
# Pointer + length pairs: (pointer type, pointer name, length name) -> FZB_*.
BUF_PAIRS = {
    ("char *", "buf", "size"): "FZB_OUTSTR",
    ("void *", "buf", "size"): "FZB_READ",
    ("const void *", "buf", "size"): "FZB_WRITE",
    ("const void *", "input", "input_len"): "FZB_INPUT",
    ("int *", "fds", "cap"): "FZB_INTS",  # a count of ints, not of bytes
}
WAIT_GROUP = [("const int *", "fds"), ("const int *", "events"), ("int *", "revents"), ("int", "nfds")]
INFO_GROUP = [("const int *", "what"), ("int64_t *", "values"), ("int *", "rcs"), ("int", "n")]


def norm_type(t):
    t = re.sub(r"\s+", " ", t.strip())
    t = re.sub(r"\s*\*", " *", t)
    return t.replace("* *", "**").replace(" **", " **")


def parse_params(s):
    s = s.strip()
    if s in ("void", ""):
        return []
    out = []
    for p in s.split(","):
        m = re.match(r"^(.*?)(\w+)\s*$", p.strip())
        if not m:
            raise SystemExit("gen_calls: cannot parse parameter %r" % p)
        out.append((norm_type(m.group(1)), m.group(2)))
    return out


def parse_header(text):
    codes = [(m.group(1), int(m.group(2))) for m in re.finditer(r"#define (LIPC_E[A-Z_]+) (-\d+)", text)
             if m.group(1) != "LIPC_EOS_BASE"]
    code_names = {n for n, _ in codes}
    funcs = []
    # Each prototype with the comment right before it (only blank space between).
    # Lines of #defines may stand between (lipc_diag's figures).
    for m in re.finditer(r"(/\*(?:(?!\*/).)*\*/)\s*\n(?:#define[^\n]*\n)*((?:const )?\w+ \*?)(lipc_\w+)\(([^)]*)\);",
                         text, re.S):
        comment, ret, name, params = m.group(1), norm_type(m.group(2)), m.group(3), m.group(4)
        # The fuzzer runs on Linux: a "Windows:" note (it ends its comment)
        # is another system's contract.
        w = comment.find("Windows:")
        if w >= 0:
            comment = comment[:w] + "*/"
        funcs.append({"name": name, "ret": ret, "params": parse_params(params), "comment": comment})
    declared = set(re.findall(r"\b(lipc_\w+)\(", re.sub(r"/\*.*?\*/", "", text, flags=re.S)))
    found = {f["name"] for f in funcs}
    missing = sorted(declared - found)
    if missing:
        raise SystemExit("gen_calls: prototypes without a comment before them (cannot read their "
                         "contract): %s" % ", ".join(missing))
    return codes, code_names, funcs


def flat(comment):
    """A comment as one line of words, without its leading stars."""
    return re.sub(r"\s+", " ", re.sub(r"\n\s*\*(?!/)", " ", comment))


def errors_of(f, byname, code_names, seen=None):
    """(set of code expressions, any OS error allowed) documented for f."""
    seen = seen or set()
    seen.add(f["name"])
    com = flat(f["comment"])
    allowed = set()
    for tok in re.findall(r"\b(LIPC_E[A-Z_]+)\b", com):
        if tok in code_names:
            allowed.add(tok)
    for e in re.findall(r"LIPC_EOS_BASE\s*-\s*(E[A-Z0-9]+)\b", com):
        allowed.add("LIPC_EOS_BASE - " + e)
    os_ok = bool(re.search(r"OS errors|its errno", com))
    idx = com.lower().find("errors")
    if idx >= 0:
        module = re.match(r"(lipc_[a-z]+_)", f["name"])
        for ref in re.findall(r"\bas (?:lipc_)?([a-z_]+[a-z])\b", com[idx:]):
            cands = ([module.group(1) + ref] if module else []) + ["lipc_" + ref]
            for c in cands:
                if c in byname and c != f["name"]:
                    if c not in seen:
                        a, o = errors_of(byname[c], byname, code_names, seen)
                        allowed |= a
                        os_ok = os_ok or o
                    break
    return allowed, os_ok


def sections_working_after_fork(text):
    """Functions of sections whose introduction says they work after fork."""
    names = set()
    for chunk in re.split(r"/\* -{20,} \*/", text):
        protos = list(re.finditer(r"\n(?:const )?\w+ \*?(lipc_\w+)\(", chunk))
        tied = set()
        for m in re.finditer(r"/\*(?:(?!\*/).)*\*/\s*\n(?:#define[^\n]*\n)*(?:const )?\w+ \*?lipc_\w+\(", chunk, re.S):
            tied.add(m.start())
        intro = " ".join(flat(m.group(0)) for m in re.finditer(r"/\*(?:(?!\*/).)*\*/", chunk, re.S)
                         if m.start() not in tied)
        if re.search(r"Works? after fork", intro):
            names |= {m.group(1) for m in protos}
    return names


def stub(f):
    """C source of the stub that draws f's arguments and calls it."""
    fn, params = f["name"], f["params"]
    lines, args = [], []
    i = 0
    names = [p[1] for p in params]
    while i < len(params):
        ctype, pname = params[i]
        a = "a%d" % i
        if params[i:i + 4] == WAIT_GROUP:
            lines.append("  struct fz_wait %s = fz_waitfds(z, c);" % a)
            args += ["%s.fds" % a, "%s.events" % a, "%s.revents" % a, "%s.n" % a]
            i += 4
            continue
        if params[i:i + 4] == INFO_GROUP:
            lines.append("  struct fz_infomany %s = fz_infomany(z, c);" % a)
            args += ["%s.what" % a, "%s.values" % a, "%s.rcs" % a, "%s.n" % a]
            i += 4
            continue
        if i + 1 < len(params) and (ctype, pname, params[i + 1][1]) in BUF_PAIRS \
                and params[i + 1][0] == "size_t":
            cls = BUF_PAIRS[(ctype, pname, params[i + 1][1])]
            lines.append('  struct fz_buf %s = fz_buf(z, c, "%s", %s);' % (a, pname, cls))
            args += ["(%s)%s.p" % (ctype, a), "%s.n" % a]
            i += 2
            continue
        try:
            if ctype == "lipc_handle_t":
                lines.append('  lipc_handle_t %s = fz_handle(z, c, "%s", %s);' % (a, pname, handle_kind(fn, pname)))
            elif ctype == "lipc_handle_t *":
                lines.append('  lipc_handle_t *%s = fz_out_handle(z, c, "%s", %s);' % (a, pname, handle_kind(fn, pname)))
            elif ctype == "const char *":
                lines.append('  const char *%s = fz_str(z, c, "%s", %s);' % (a, pname, str_class(fn, pname)))
            elif ctype in ("int", "uint32_t", "int64_t", "size_t"):
                lines.append('  %s %s = (%s)fz_int(z, c, "%s", %s);' % (ctype, a, ctype, pname, int_class(fn, ctype, pname)))
            elif (ctype, pname) in OUT_SCALARS:
                base = ctype[:-2].strip()
                lines.append('  %s %s = (%s)fz_out(z, c, "%s", sizeof(%s));' % (ctype, a, ctype, pname, base))
            elif (ctype, pname) in OUT_BLOCKS:
                lines.append('  char **%s = fz_out_block(z, c, "%s");' % (a, pname))
            elif (ctype, pname) == ("void *", "ptr") and fn == "lipc_free":
                lines.append("  void *%s = fz_freeptr(z, c);" % a)
            else:
                raise Unclassified("a parameter of this type")
        except Unclassified as e:
            raise SystemExit("gen_calls: cannot classify parameter `%s %s` of %s (%s). Teach "
                             "tests/adversarial/gen_calls.py how to draw it safely." % (ctype, pname, fn, e))
        args.append(a)
        i += 1
    call = "P(%s)(%s)" % (fn, ", ".join(args))
    out = ["static int fzc_%s(struct fz *z, struct fz_call *c) {" % fn]
    out += lines
    out.append("  fz_enter(z, c);")
    if f["ret"] == "int":
        out.append("  int rc = %s;" % call)
    elif f["ret"] == "const char *":
        out.append("  const char *s = %s;" % call)
        out.append("  int rc = fz_static_str(z, c, s);")
    elif f["ret"] == "void":
        out.append("  %s;" % call)
        out.append("  int rc = 0;")
    else:
        raise SystemExit("gen_calls: %s returns %s, which the fuzzer cannot check" % (fn, f["ret"]))
    out.append("  fz_leave(z, c);")
    out.append("  return rc;")
    out.append("}")
    _ = names
    return "\n".join(out)


def main():
    hdr, out_path = sys.argv[1], sys.argv[2]
    # The export macro (dllexport/dllimport on Windows) is not part of a
    # prototype's contract.
    text = re.sub(r"\bLIPC_API ", "", open(hdr).read())
    codes, code_names, funcs = parse_header(text)
    byname = {f["name"]: f for f in funcs}
    o = ["/* Generated by tests/adversarial/gen_calls.py from %s: do not edit. */" % hdr]
    o.append("#define FZ_FUNCS(X) \\")
    o += ["  X(%s) \\" % f["name"] for f in funcs]
    o.append("")
    o.append("/* One pointer per function, filled by dlsym; the includer defines FZ_DECLARE_PTR. */")
    o.append("FZ_FUNCS(FZ_DECLARE_PTR)")
    o.append("static const struct fz_code fz_codes[] = {")
    o += ['  {"%s", %s},' % (n, n) for n, _ in codes]
    o.append("};")
    # The one name rule of the "Named objects" section holds for every
    # function of a named kind that takes a name: its codes are documented
    # for them all.
    rule = re.search(r"/\*[^/]*One name rule(?:(?!\*/).)*\*/", text, re.S)
    rule_codes = set(re.findall(r"\b(LIPC_E[A-Z_]+)\b", rule.group(0))) & code_names if rule else set()
    fork_sections = sections_working_after_fork(text)
    for f in funcs:
        f["works_after_fork"] = bool(re.search(r"Works? after fork", flat(f["comment"]))) or \
            f["name"] in fork_sections
        f["codes"], f["os_ok"] = errors_of(f, byname, code_names)
        if f["name"].startswith(NAMED_PREFIXES) and ("const char *", "name") in f["params"]:
            f["codes"] |= rule_codes
        # An int function whose comment names no error returns a value, not a code.
        f["value_ret"] = f["ret"] == "int" and not f["codes"] and not f["os_ok"]
        o.append("static const int fzerr_%s[] = {%s};" % (f["name"], ", ".join(sorted(f["codes"]) + ["1"])))
    o.append("")
    for f in funcs:
        o.append(stub(f))
        o.append("")
    o.append("static const struct fz_fn fz_fns[] = {")
    for f in funcs:
        has_path = any(p[0] == "const char *" and p[1] in ("path", "dir", "program") for p in f["params"])
        o.append('  {"%s", fzc_%s, fzerr_%s, %d, %d, %d, %d, "%s"},' % (
            f["name"], f["name"], f["name"], int(f["os_ok"]), int(f["value_ret"]),
            int(f["works_after_fork"]), int(has_path), ", ".join("%s %s" % p for p in f["params"])))
    o.append("};")
    o.append("#define FZ_NFNS %d" % len(funcs))
    m = re.search(r"#define (LIPC_DIAG_\w*PANIC\w*) ", text)
    if m:
        o.append("#define FZ_DIAG_PANICS %s" % m.group(1))
    # lipc_diag works after fork for the figures its comment marks (C):
    # each entry's text runs to the next LIPC_DIAG_ name.
    diag = byname.get("lipc_diag")
    if diag:
        entries = re.split(r"\b(?=LIPC_DIAG_\w+\s)", flat(diag["comment"]))[1:]
        c_figures = [e.split()[0] for e in entries if "(C)" in e]
        o.append("#define FZ_DIAG_C_FIGURES %s" % ", ".join(c_figures + ["0"]))
    open(out_path, "w").write("\n".join(o) + "\n")
    # For the special-files attack: every function that takes a path, a
    # directory or a program, which it must cover.
    paths = [f["name"] for f in funcs
             if any(p[0] == "const char *" and p[1] in ("path", "dir", "program") for p in f["params"])]
    with open(out_path.replace("fz_gen.h", "fz_paths.h"), "w") as ph:
        ph.write("/* Generated by gen_calls.py: the functions of lipc.h that take a path. */\n")
        ph.write("#define FZ_PATH_FUNCS %s\n" % ", ".join('"%s"' % n for n in paths))
        # For the fork attack: what the header says works in a forked child.
        ph.write("#define FZ_AFTER_FORK_FUNCS %s\n" % ", ".join('"%s"' % f["name"] for f in funcs
                                                            if f["works_after_fork"]))
    print("gen_calls: %d functions, %d with documented errors" % (len(funcs), sum(1 for f in funcs if f["codes"])))


if __name__ == "__main__":
    main()
