#!/usr/bin/env bash
# Runs lipc's whole test suite, each part in its own ecosystem's runner, and
# ends with one summary line. `scripts/test.sh soak` runs only the host soaks,
# for as long as LIPC_SOAK_SECONDS / LIPC_SOAK_RUNS say, and the adversarial
# suite's long run (tests/adversarial/run.sh says which variables size it);
# `scripts/test.sh c` only the C suites.
# Expects build/liblipc.so (make builds it first).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
export LIPC_LIBRARY="$ROOT/build/liblipc.so"
export LIPC_REQUIRE_LIB=1
export LUA_PATH="$ROOT/bindings/luajit/?.lua;$ROOT/bindings/luajit/?/init.lua;;"
CC=${CC:-cc}
passed=0
failed=0
failed_names=""

run() { # name command...
  local name=$1
  shift
  echo
  echo "=== $name"
  local t0=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    echo "=== $name: ok ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1))
    failed_names="$failed_names $name"
    echo "=== $name: FAILED ($((SECONDS - t0)) s)"
  fi
}

c_tests() {
  local ok=0 flags="-Wall -Wextra -Werror -O2 -Iinclude -Itests/c"
  for t in test_basics test_handles test_handle_race test_fork test_fork_open test_fork_flock test_shm_full test_proc test_proc_life test_proc_info_many test_edges test_sync test_mem \
           test_special_files test_named test_spawn_attrs test_unwound test_spawn_seccomp test_std_closed test_spawn_thread test_spawn_errors \
           test_spawn_cancel test_spawn_close_parent test_cancel test_runtime_fds test_host_mask test_mutex_fast test_mutex_signal test_mutex_peer; do
    $CC $flags -o build/$t tests/c/$t.c -Lbuild -llipc -lpthread -lrt -Wl,-rpath,"$ROOT/build" || return 1
    echo "--- $t"; build/$t || ok=1
  done
  # The same cases with glibc doing every lock and unlock (the inline path off).
  echo "--- test_mutex_fast (LIPC_TEST_MUTEX_GLIBC=1)"; LIPC_TEST_MUTEX_GLIBC=1 build/test_mutex_fast || ok=1
  $CC $flags -o build/test_host tests/c/test_host.c -ldl || return 1
  echo "--- test_host"; build/test_host build/liblipc.so || ok=1
  # A host run under Valgrind, as C developers do (Go's own stacks give
  # uninitialised-value reports that are not the host's: not counted).
  $CC $flags -o build/valgrind_host tests/c/valgrind_host.c -Lbuild -llipc -Wl,-rpath,"$ROOT/build" || return 1
  echo "--- valgrind_host (under valgrind)"; valgrind -q --undef-value-errors=no build/valgrind_host || ok=1
  # A second Go runtime in the process: another library built with Go's
  # -buildmode=c-shared, loaded after lipc and before it.
  # (Without Go on the PATH, the one in build/: make test-old-glibc brings one.)
  if command -v go >/dev/null; then go build -buildmode=c-shared -o build/libothergo.so ./tests/c/othergo || return 1; fi
  $CC $flags -o build/test_two_go tests/c/test_two_go.c -Lbuild -llipc -ldl -lpthread -Wl,-rpath,"$ROOT/build" || return 1
  echo "--- test_two_go"; build/test_two_go "$ROOT/build/libothergo.so" || ok=1
  $CC $flags -o build/test_runtime_fds_host tests/c/test_runtime_fds_host.c -ldl -lpthread || return 1
  echo "--- test_runtime_fds_host"; build/test_runtime_fds_host build/liblipc.so || ok=1
  return $ok
}

# A plain C host with signal() handlers under a signal storm (F19): trials in
# fresh processes, every call mode, handlers set before and after loading.
signal_storm() { # trials calls
  local flags="-Wall -Wextra -Werror -O2 -Iinclude -Itests/c"
  $CC $flags -o build/storm_signals tests/c/storm_signals.c -ldl -lpthread || return 1
  tests/c/storm_signals.sh build/storm_signals build/liblipc.so "$1" "$2"
}

# The C tests and the LuaJIT suite again as nobody, as most users run them:
# the suites run as root, to whom permissions, /dev/shm ownership, user and
# pid namespaces and limits answer otherwise (as nobody, test_spawn_seccomp
# caught two fds the loader left open for a moment: d59e0c3). They run from
# a copy that nobody owns, since the checkout may be out of its reach (under
# /root, 0700), with the library and the Go test library built here.
# `unprivileged_suites python` (make soak) adds the Python suite, in a venv
# of nobody's made with pip (2 min more, and PyPI): it found nothing that the
# C and LuaJIT suites, which meet the same checks of users, do not.
unprivileged_suites() { # [python]
  if [ "$(id -u)" != 0 ]; then
    echo "--- skipped: the suites above ran as $(id -un), not as root"
    return 0
  fi
  local dir gid ok=0 path=/usr/local/bin:/usr/bin:/bin # no Go: c_tests takes the libothergo.so built here
  gid=$(id -g nobody) && dir=$(mktemp -d /tmp/lipc-unprivileged-XXXXXX) || return 1
  tar -C "$ROOT" --exclude=./.git --exclude=./build -cf - . | tar -C "$dir" -xf - && mkdir "$dir/build" "$dir/home" &&
    cp -p build/liblipc.so build/liblipc.so.* "$dir/build/" && chmod 755 "$dir" &&
    { [ ! -e build/libothergo.so ] || cp -p build/libothergo.so "$dir/build/"; } &&
    chown -R "nobody:$gid" "$dir" || { rm -rf "$dir"; return 1; }
  setpriv --reuid=nobody --regid="$gid" --clear-groups env -i PATH="$path" HOME="$dir/home" CC="$CC" ROOT="$dir" \
    LIPC_LIBRARY="$dir/build/liblipc.so" LIPC_REQUIRE_LIB=1 WITH_PYTHON="${1:-}" \
    LUA_PATH="$dir/bindings/luajit/?.lua;$dir/bindings/luajit/?/init.lua;;" \
    bash -c "$(declare -f c_tests)"'
      cd "$ROOT" && id || exit 1
      c_tests; c=$?
      echo "--- luajit binding"
      luajit bindings/luajit/tests/run.lua || c=1
      [ "$WITH_PYTHON" = python ] || exit $c
      echo "--- python binding"
      python3 -m venv "$HOME/venv" && "$HOME/venv/bin/pip" install -q --disable-pip-version-check \
        pytest filelock python-daemon posix_ipc && "$HOME/venv/bin/python" -m pytest -q -p no:cacheprovider \
        bindings/python/tests && exit $c' || ok=1
  rm -rf "$dir"
  return $ok
}

# --- Packaging: each language's installer, on the packages `make dist` built.

# A PATH without any Go (nor build/toolchain): what a user of a package has.
# A directory that holds a go (Debian's /usr/bin) is replaced by links to
# all its other programs.
PATH_WITHOUT_GO_DIR=/tmp/lipc-path-without-go-$(id -u)-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)
path_without_go() {
  # Searchable by every user: tests run children as nobody with this PATH,
  # and a checkout under /root is closed to them.
  local shadow=$PATH_WITHOUT_GO_DIR out="" d shadowed=""
  local IFS=:
  for d in $PATH; do
    [ -n "$d" ] || continue
    if [ -x "$d/go" ]; then
      if [ -z "$shadowed" ]; then
        rm -rf "$shadow" && mkdir -p -m 755 "$shadow" && shadowed=1
        out="$out${out:+:}$shadow"
      fi
      ln -s "$d"/* "$shadow/" 2>/dev/null # the first of a name wins, as on the PATH
      rm -f "$shadow/go" "$shadow/gofmt"
    else
      out="$out${out:+:}$d"
    fi
  done
  echo "$out"
}

header_version() { sed -n 's/^#define LIPC_VERSION_STRING "\(.*\)"/\1/p' include/lipc.h; }

# make install / uninstall with DESTDIR and PREFIX; a C program built with
# pkg-config against the staged copy; lipc.pc without an rpath unless
# PC_RPATH=1 asks; the soname, lipc.pc, the header and lipc_version() agree.
install_test() {
  local dir v
  dir=$(mktemp -d)
  v=$(header_version)
  local parts
  parts=$(sed -n 's/^#define LIPC_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' include/lipc.h | paste -sd.)
  [ "$parts" = "$v" ] || { echo "LIPC_VERSION_MAJOR.MINOR.PATCH is $parts, LIPC_VERSION_STRING $v"; return 1; }
  grep -m1 '^## ' CHANGELOG.md | grep -q "^## $v\b" || { echo "CHANGELOG.md's newest heading is not $v"; return 1; }
  make -s install DESTDIR="$dir/stage" PREFIX=/opt/lipc >/dev/null || return 1
  local lib=$dir/stage/opt/lipc/lib pc=$dir/stage/opt/lipc/lib/pkgconfig
  cat > "$dir/prog.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <lipc.h>
int main(void) {
  int64_t v;
  if (strcmp(lipc_version(), LIPC_VERSION_STRING) != 0) {
    fprintf(stderr, "header %s, library %s\n", LIPC_VERSION_STRING, lipc_version());
    return 1;
  }
  if (lipc_diag(LIPC_DIAG_FP_SELFTEST, &v) != 0 || v != 1) {
    fprintf(stderr, "lipc_diag: %s\n", lipc_last_error());
    return 2;
  }
  printf("installed lipc %s works\n", lipc_version());
  return 0;
}
C
  local pcenv="PKG_CONFIG_PATH=$pc PKG_CONFIG_SYSROOT_DIR=$dir/stage"
  local libs
  libs=$(env $pcenv pkg-config --libs lipc) || return 1
  case $libs in *rpath*) echo "lipc.pc forces an rpath: $libs"; return 1 ;; esac
  [ "$(env $pcenv pkg-config --modversion lipc)" = "$v" ] || { echo "lipc.pc version is not $v"; return 1; }
  # shellcheck disable=SC2046
  $CC -Wall -Wextra -Werror -o "$dir/prog" "$dir/prog.c" $(env $pcenv pkg-config --cflags --libs lipc) || return 1
  LD_LIBRARY_PATH=$lib "$dir/prog" || return 1
  readelf -d "$lib/liblipc.so" | grep -q "SONAME.*\[liblipc.so.${v%%.*}\]" || { echo "soname is not liblipc.so.${v%%.*}"; return 1; }
  [ "$(readlink "$lib/liblipc.so.${v%%.*}")" = "liblipc.so.$v" ] || { echo "no liblipc.so.${v%%.*} -> liblipc.so.$v"; return 1; }
  # PC_RPATH=1: an rpath, for a prefix the loader does not search.
  make -s install DESTDIR="$dir/stage" PREFIX=/opt/lipc PC_RPATH=1 >/dev/null || return 1
  env $pcenv pkg-config --libs lipc | grep -q -- "-Wl,-rpath,$dir/stage/opt/lipc/lib" || { echo "PC_RPATH=1 gave no rpath"; return 1; }
  make -s uninstall DESTDIR="$dir/stage" PREFIX=/opt/lipc >/dev/null || return 1
  local left
  left=$(find "$dir/stage" ! -type d)
  [ -z "$left" ] || { echo "make uninstall left: $left"; return 1; }
  # What the Lisp stage loads through the system loader.
  make -s install DESTDIR="$dir/stage" PREFIX=/usr >/dev/null || return 1
  rm -rf "$INSTALLED_ROOT" && mv "$dir/stage" "$INSTALLED_ROOT" && rm -rf "$dir"
}
INSTALLED_ROOT=$ROOT/build/test-installed

# The sdist: sources (Go modules vendored), no binary; it builds a wheel with
# liblipc.so when Go is there, and fails naming Go when it is not. The
# wheel: liblipc.so, py.typed, MIT license metadata, the manylinux tag of
# the release glibc (Makefile RELEASE_GLIBC), which its library and the
# binary rock's need no newer glibc than (scripts/glibc_floor.sh).
python_dist_test() {
  local v dir floor py=$ROOT/build/venv-tools/bin/python
  v=$(header_version)
  dir=$(mktemp -d)
  floor=$(sed -n 's/^RELEASE_GLIBC := //p' Makefile)
  "$py" - "$ROOT/build/dist" "$v" "$floor" <<'PY' || return 1
import glob, sys, tarfile, zipfile
out, v = sys.argv[1], sys.argv[2]
sdist = tarfile.open(f"{out}/lipc-{v}.tar.gz")
names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
need = {"lipc/py.typed", "lipc/_lib.py", "setup.py", "pyproject.toml", "LICENSE", "go.mod", "go.sum",
        "Makefile", "include/lipc.h", "capi/lipc.map", "vendor/modules.txt"}
assert need <= names, sorted(need - names)
assert not [n for n in names if n.endswith(".so")], "the sdist carries a binary"
pkg = sdist.extractfile(f"lipc-{v}/PKG-INFO").read().decode()
assert "License-Expression: MIT" in pkg and f"Version: {v}\n" in pkg, pkg
wheels = glob.glob(f"{out}/lipc-{v}-py3-none-manylinux*_x86_64.whl")
assert len(wheels) == 1, glob.glob(f"{out}/*")
floor = sys.argv[3].replace(".", "_")
assert wheels[0].endswith(f".manylinux_{floor}_x86_64.whl"), f"{wheels[0]}: not tagged for glibc {sys.argv[3]}"
w = zipfile.ZipFile(wheels[0])
names = set(w.namelist())
assert {"lipc/liblipc.so", "lipc/py.typed", f"lipc-{v}.dist-info/licenses/LICENSE"} <= names, sorted(names)
meta = w.read(f"lipc-{v}.dist-info/METADATA").decode()
assert "License-Expression: MIT" in meta, meta
print("sdist and", wheels[0].rsplit("/", 1)[1], "carry what they should")
PY
  (cd "$dir" && "$py" -m zipfile -e "$ROOT"/build/dist/lipc-"$v"-py3-none-manylinux*.whl wheel &&
    "$py" -m zipfile -e "$ROOT"/build/dist/lipc-"$v"-1.linux-x86_64.rock rock) || return 1
  scripts/glibc_floor.sh "$dir/wheel/lipc/liblipc.so" "$floor" && scripts/glibc_floor.sh "$dir/rock/lib/lipc/liblipc.so" "$floor" ||
    return 1
  echo "--- the sdist without Go"
  env PATH="$(path_without_go)" "$py" -m pip wheel -q --no-build-isolation --no-deps \
    -w "$dir/nogo" "$ROOT/build/dist/lipc-$v.tar.gz" >"$dir/nogo.log" 2>&1 && { echo "built without Go?"; return 1; }
  grep -q "cannot build liblipc.so from source; missing:" "$dir/nogo.log" && grep -q -- "- Go >= " "$dir/nogo.log" ||
    { cat "$dir/nogo.log"; return 1; }
  grep -A2 "cannot build liblipc.so" "$dir/nogo.log"
  echo "--- the sdist with Go"
  "$py" -m pip wheel -q --no-build-isolation --no-deps -w "$dir/go" "$ROOT/build/dist/lipc-$v.tar.gz" \
    >"$dir/go.log" 2>&1 || { cat "$dir/go.log"; return 1; }
  "$py" -m zipfile -l "$dir"/go/lipc-"$v"-*.whl | grep -q "lipc/liblipc.so" || { echo "no liblipc.so in the wheel built from the sdist"; return 1; }
  echo "the sdist built a wheel with liblipc.so"
  rm -rf "$dir"
}

# The Python suite against the wheel installed into a fresh venv: no Go on
# the PATH, no LIPC_LIBRARY, no source tree on sys.path (conftest checks).
python_installed_suite() {
  local dir v
  v=$(header_version)
  dir=$(mktemp -d)
  python3 -m venv "$dir/venv" || return 1
  "$dir/venv/bin/python" -m pip install -q --disable-pip-version-check --no-index \
    "$ROOT"/build/dist/lipc-"$v"-py3-none-manylinux*.whl || return 1
  "$dir/venv/bin/python" -m pip install -q --disable-pip-version-check pytest filelock python-daemon posix_ipc || return 1
  (cd "$dir" && env -u LIPC_LIBRARY -u PYTHONPATH PATH="$dir/venv/bin:$(path_without_go)" LIPC_TEST_INSTALLED=1 \
     python -m pytest -q -p no:cacheprovider -o pythonpath= "$ROOT/bindings/python/tests") || return 1
  rm -rf "$dir"
}

# luarocks: `luarocks make` from the source tree, and the packed binary rock
# with no Go; `require "lipc"` then finds the rock's library through
# package.cpath with no LIPC_LIBRARY, and every module of the binding is
# installed.
luarocks_test() {
  local dir v
  v=$(header_version)
  dir=$(mktemp -d)
  luarocks --lua-version=5.1 --tree="$dir/make" make lipc-scm-1.rockspec >"$dir/make.log" 2>&1 ||
    { cat "$dir/make.log"; return 1; }
  env PATH="$(path_without_go)" luarocks --lua-version=5.1 --tree="$dir/bin" install \
    "$ROOT"/build/dist/lipc-"$v"-1.linux-x86_64.rock >"$dir/bin.log" 2>&1 || { cat "$dir/bin.log"; return 1; }
  local tree want got
  want=$(cd bindings/luajit && ls lipc/*.lua ipc/*.lua proc.lua | sed 's|^lipc/init.lua$|lipc.lua|' | sort)
  for tree in make bin; do
    got=$(cd "$dir/$tree/share/lua/5.1" && ls lipc.lua lipc/*.lua ipc/*.lua proc.lua | sort)
    [ "$want" = "$got" ] || { echo "$tree: the rock installs other modules than bindings/luajit has:"; diff <(echo "$want") <(echo "$got"); return 1; }
    (cd "$dir" && eval "$(luarocks --lua-version=5.1 --tree="$dir/$tree" path)" &&
      env -u LIPC_LIBRARY PATH="$(path_without_go)" ROCK_TREE="$dir/$tree" ROCK_KIND=$tree WANT_VERSION="$v" \
        luajit -e '
        local lipc = require "lipc"
        local want = os.getenv("ROCK_TREE") .. "/lib/lua/5.1/lipc/liblipc.so"
        assert(lipc.library_path == want, "loaded " .. lipc.library_path .. ", not " .. want)
        assert(lipc.version() == os.getenv("WANT_VERSION"), lipc.version())
        local r = assert(lipc.proc.run({ "echo", "hi" }))
        assert(r.stdout == "hi\n" and r.code == 0, r.stdout)
        print(("rock (%s): lipc %s from %s"):format(os.getenv("ROCK_KIND"), lipc.version(), lipc.library_path))') || return 1
  done
  rm -rf "$dir"
}

# The ASDF system, in a copy of the source tree without build/, loads the
# library `make install` put in <prefix>/lib through the system loader (no
# LIPC_LIBRARY), carries the header's version, and passes test-op. The
# suite's other-language children use the installed library too (cc through
# LIBRARY_PATH, Python through the system loader).
lisp_installed_suite() {
  local dir=$ROOT/build/test-lisp-src v # a fixed place: ASDF's fasl cache is keyed by path
  v=$(header_version)
  rm -rf "$dir" && mkdir -p "$dir/bindings/python" "$dir/include"
  cp -R bindings/lisp "$dir/bindings/" && cp -R bindings/python/lipc "$dir/bindings/python/" &&
    cp include/lipc.h "$dir/include/" || return 1
  find "$dir" \( -name '*.fasl' -o -name '*.so' \) -delete
  (cd "$dir" && env -u LIPC_LIBRARY LD_LIBRARY_PATH="$INSTALLED_ROOT/usr/lib" LIBRARY_PATH="$INSTALLED_ROOT/usr/lib" \
     CL_SOURCE_REGISTRY="$dir/bindings/lisp//:" \
     sbcl --noinform --non-interactive --no-userinit --eval '(require :asdf)' --eval "
(let ((s (asdf:find-system \"lipc\")))
  (assert (equal (asdf:component-version s) \"$v\"))
  (assert (equal (asdf:system-license s) \"MIT\"))
  (let ((*standard-output* (make-broadcast-stream))) (asdf:load-system \"lipc/tests\"))
  (format t \"~&ASDF system lipc ~A, library: ~A~%\" (asdf:component-version s)
          (symbol-value (find-symbol \"*LIBRARY-PATH*\" \"LIPC\")))
  (assert (equal \"liblipc.so.0\" (symbol-value (find-symbol \"*LIBRARY-PATH*\" \"LIPC\"))))
  (asdf:test-system \"lipc\"))") || return 1
}

# mypy --strict on the Python package (bindings/python/mypy.ini), with one
# pinned mypy in its own venv: a distribution's mypy (Debian 12's 1.0.1)
# knows older typeshed stubs and would judge the same code otherwise.
MYPY_VERSION=2.4.1
python_types() {
  local cfg=bindings/python/mypy.ini cache="$ROOT/build/mypy-cache" floor venv=$ROOT/build/venv-mypy
  floor=$(sed -n 's/^requires-python = ">=\(.*\)"$/\1/p' bindings/python/pyproject.toml)
  grep -qx "python_version = $floor" $cfg ||
    { echo "$cfg: python_version must be requires-python's floor ($floor)"; return 1; }
  if [ "$("$venv/bin/python" -m mypy --version 2>/dev/null | cut -d' ' -f2)" != "$MYPY_VERSION" ]; then
    rm -rf "$venv" && python3 -m venv "$venv" &&
      "$venv/bin/python" -m pip install -q --disable-pip-version-check "mypy==$MYPY_VERSION" || return 1
  fi
  (cd bindings/python && "$venv/bin/python" -m mypy --config-file mypy.ini --cache-dir "$cache") || return 1
  python_floor_smoke "$floor"
}

# requires-python's floor at run time too, when an interpreter of it is here
# (python3.X on the PATH, or pyenv's): every module imports, a few round trips.
python_floor_smoke() { # floor
  local py="" v
  if "python$1" -c pass 2>/dev/null; then py="python$1"
  elif command -v pyenv >/dev/null; then
    v=$(pyenv versions --bare 2>/dev/null | grep -E "^$1\.[0-9]+$" | tail -1)
    [ -n "$v" ] && py="$(pyenv root)/versions/$v/bin/python"
  fi
  if [ -z "$py" ]; then echo "--- no Python $1 here: its floor is checked by mypy only"; return 0; fi
  echo "--- Python $1 ($py): import and round trips"
  PYTHONPATH=bindings/python "$py" - <<'PY'
import os, lipc
assert lipc.run(["echo", "hi"], capture_output=True, text=True, timeout=10).stdout == "hi\n"
n = "floor-smoke-%d" % os.getpid()
with lipc.Semaphore(n, create=True, initial=1, unlink_on_close=True) as got:
    assert got
with lipc.SharedMemory(n, create=True, size=4096, unlink_on_close=True) as shm:
    shm.buf[:2] = b"ok"
    assert bytes(shm.buf[:2]) == b"ok"
assert lipc.quote_sh("a b") == "'a b'"
print("python floor smoke: ok")
PY
}

# Every code block of every README runs as written and every link stays in the
# repository (tests/docs/check_docs.py says how each kind of block runs).
docs_blocks() {
  python3 tests/docs/check_docs.py --selftest && python3 tests/docs/check_docs.py
}

pytest_run() { # dir: pytest exits 5 when it collected nothing, which is a failure here too
  python3 -m pytest -q -p no:cacheprovider "$@"
}

if [ "${1:-}" = soak ]; then
  run "lisp host soak" bindings/lisp/soak/run-soak.sh
  run "python host soak" python3 -m pytest -q -p no:cacheprovider bindings/python/tests/test_soak.py
  run "c host signal storm" signal_storm "${STORM_TRIALS:-100}" "${STORM_CALLS:-200000}"
  run "adversarial soak (ADV_SEEDS, ADV_CALLS, ADV_ROUNDS, ADV_HANDLE_CYCLES)" tests/adversarial/run.sh soak
  run "c tests, luajit and python bindings as nobody (unprivileged)" unprivileged_suites python
elif [ "${1:-}" = c ]; then # the C suites alone: make test-old-glibc runs them on an older glibc
  run "c tests" c_tests
else
  run "lint (gofmt, go vet, C -Wall -Wextra)" make -s lint
  # The library is built with asyncpreemptoff=1 (Makefile GO_LDFLAGS), so
  # the core's tests run under it too: otherwise Go's preemption signal
  # (SIGURG) can land on a thread sleeping in one of the core's C wait
  # loops, which report a signal as EINTR by design (TestWholeFileLocks
  # failed so in 36 of 1000 runs; 0 of 1000 with the setting).
  run "go core tests" env GODEBUG=asyncpreemptoff=1 go test ./core/...
  run "c tests" c_tests
  run "c host signal storm" signal_storm "${STORM_TRIALS:-12}" "${STORM_CALLS:-40000}"
  run "adversarial (call fuzzer, names, special files, handles, fork)" tests/adversarial/run.sh quick
  run "abi tests (purego)" env GODEBUG=asyncpreemptoff=1 go test ./tests/abi/...
  run "declarations vs header" pytest_run tests/test_decls.py
  run "bench.json (quick bench run of every language, schema)" pytest_run tests/test_bench_json.py
  run "install + pkg-config" install_test
  run "make dist (wheel, sdist, rock)" make -s dist
  run "python sdist and wheel" python_dist_test
  run "python binding (pytest, installed wheel)" python_installed_suite
  run "python types (mypy --strict)" python_types
  run "cpython test_subprocess on lipc" python3 bindings/python/cpython_tests/run.py
  run "cpython lock_tests on lipc's Mutex, Semaphore, Event" python3 bindings/python/cpython_tests/run_lock_tests.py
  run "cpython _TestSharedMemory on lipc's SharedMemory (fork, spawn, forkserver)" python3 bindings/python/cpython_tests/run_shm_tests.py
  run "python binding on newer CPythons (pyenv's; the newest: whole suite)" bindings/python/newer-pythons.sh
  run "luajit binding" luajit bindings/luajit/tests/run.lua
  run "c tests and luajit binding as nobody (unprivileged)" unprivileged_suites
  run "luarocks make, binary rock" luarocks_test
  run "lisp binding (FiveAM, ASDF test-op, installed library)" lisp_installed_suite
  run "eazy-process on lipc (FiveAM)" bindings/lisp/eazy-process/run-tests.sh
  run "lisp host soak" bindings/lisp/soak/run-soak.sh
  run "readme code blocks and links" docs_blocks
  run "windows toolchain under wine (smoke)" scripts/windows/smoke.sh
  run "windows: lipc.dll under wine (C, Go, Python, LuaJIT)" scripts/windows/test.sh
fi

rm -rf "$PATH_WITHOUT_GO_DIR"
echo
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
