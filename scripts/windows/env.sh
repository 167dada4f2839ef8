# Sourced (by bash) by every script that runs lipc's Windows tests under Wine,
# after scripts/windows/setup.sh has made build/windows/. It sets:
#   WINEPREFIX     build/windows/wineprefix (this work tree's own prefix)
#   WINEDEBUG      -all (Wine's diagnostics would mix into test output)
#   WINEDLLOVERRIDES  no Mono/Gecko installers, no menu builder
#   WINE64, WINESERVER  Wine's binaries (Debian keeps wine64 off the PATH)
#   LIPC_WIN       build/windows
#   PATH           + scripts/windows/bin, so that `GOOS=windows go test`
#                  finds go_windows_amd64_exec and runs the tests under Wine
# and defines:
#   wine_up        start this prefix's wineserver the safe way (below)
#   wine_down      stop it and everything running in the prefix
#   win_c EXE ARGS...        run a mingw-built program
#   win_python ARGS...       run the Windows CPython (stdin /dev/null,
#                            stdout and stderr pipes: see win_python)
#   win_luajit ARGS...       run the Windows LuaJIT
#   win_path PATH            print PATH as Windows sees it (Z:\...)
# Each run gives the program's exit code back.
#
# The CI hang trap (shared/design/windows-wine.md): the first Wine process of
# a wineserver starts Wine's own helper processes (services.exe and others),
# which inherit that process's stdout and stderr and live as long as the
# wineserver, so `wine64 x.exe | cat` or `... | tee log` would never see end
# of file. wine_up therefore starts the wineserver, and one throwaway process
# that starts the helpers, with every standard stream on /dev/null. Every
# win_* call runs wine_up first: when the server is already up that costs one
# `wineserver -p` that exits at once (a few ms), and when the server has gone
# (it stays LIPC_WINE_PERSIST seconds, default 300, after its last program
# exits, so a crashed run leaks nothing for long) the helpers are started
# detached again before the program runs.

LIPC_WIN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export LIPC_WIN="$LIPC_WIN_ROOT/build/windows"
export WINEPREFIX="$LIPC_WIN/wineprefix"
export WINEDEBUG=-all
# Wine turns file names into Unix ones through the locale: without a UTF-8
# one (a fresh machine with no LANG), a name with "é" is not found.
case "$(locale charmap 2>/dev/null)" in
  UTF-8) ;;
  *) export LC_ALL=C.UTF-8 ;;
esac
export WINEDLLOVERRIDES="mscoree,mshtml,winemenubuilder.exe=d"
WINE64=$(command -v wine64 || true)
[ -n "$WINE64" ] || WINE64=/usr/lib/wine/wine64
WINESERVER=$(command -v wineserver || true)
[ -n "$WINESERVER" ] || WINESERVER=/usr/lib/wine/wineserver
export WINE64 WINESERVER
case ":$PATH:" in
  *":$LIPC_WIN_ROOT/scripts/windows/bin:"*) ;;
  *) export PATH="$LIPC_WIN_ROOT/scripts/windows/bin:$PATH" ;;
esac

# Runs a command that may start a long-lived Wine process (the wineserver or
# Wine's helpers) with no stream and no other low descriptor of the caller:
# whatever they hold stays open as long as they live (a pipe never ends, a
# lock is never released).
_wine_detached() {
  "$@" </dev/null >/dev/null 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-
}

wine_up() { # makes sure this prefix's wineserver and Wine's helpers run, detached
  # Under a lock: a second caller (go test runs packages in parallel) must not
  # start its program between our server start and our throwaway process, or
  # its program would be the one that starts the helpers (and lend them its
  # streams). _wine_detached closes the lock's descriptor for the daemons.
  [ -d "$LIPC_WIN" ] || { echo "wine_up: no $LIPC_WIN: run scripts/windows/setup.sh" >&2; return 1; }
  ( flock 8 && _wine_up_locked ) 8>"$LIPC_WIN/.wine-up.lock"
}

_wine_up_locked() {
  local rc=0
  # -pN: persistent, exits N seconds after its last program. When a server
  # already runs for this prefix it exits 2 at once; 0: this call started it.
  # It returns only once the server listens (the daemon signals its parent).
  _wine_detached "$WINESERVER" "-p${LIPC_WINE_PERSIST:-300}" || rc=$?
  case $rc in
    2) return 0 ;;
    0) ;;
    *) echo "wine_up: wineserver -p failed (exit $rc; WINEPREFIX=$WINEPREFIX)" >&2; return 1 ;;
  esac
  # The throwaway process: it starts services.exe and the other helpers with
  # none of our descriptors, and returns once the prefix has booted.
  if ! _wine_detached "$WINE64" cmd /c exit 0; then
    echo "wine_up: the first Wine process failed (WINEPREFIX=$WINEPREFIX; run scripts/windows/setup.sh)" >&2
    return 1
  fi
}

wine_down() { # stops this prefix's wineserver and every process in it, and waits for them
  _wine_detached "$WINESERVER" -k || true
  _wine_detached "$WINESERVER" -w || true
}

win_path() { # unix path -> the Windows path Wine gives it through drive Z:
  local p
  case $1 in /*) p=$1 ;; *) p="$PWD/$1" ;; esac
  printf 'Z:%s\n' "${p//\//\\}"
}

win_c() { # exe args...: a mingw-built program under Wine
  wine_up || return 125
  "$WINE64" "$@"
}

win_luajit() { # args...: build/windows/luajit/luajit.exe under Wine
  wine_up || return 125
  "$WINE64" "$LIPC_WIN/luajit/luajit.exe" "$@"
}

# Windows CPython will not start when a standard handle is a regular file
# (init_sys_streams: WinError 6), so stdin is /dev/null and stdout and stderr
# always reach the caller through pipes (cat), whatever the caller gave. The
# embeddable CPython ignores PYTHONPATH (python313._pth); setup.sh's
# sitecustomize.py reads it again: give it Windows paths (win_path) joined by ';'.
win_python() { # args...: build/windows/python/python.exe under Wine
  wine_up || return 125
  local rc=0 py="$LIPC_WIN/python/python.exe"
  # stdout through fd 3 to the outer cat, stderr to the inner one; both cats
  # are waited for, so all the output is out when this returns. (&& ||: the
  # exit code comes back also when the caller runs under set -e -o pipefail.)
  { { "$WINE64" "$py" "$@" </dev/null 2>&1 1>&3 3>&- | cat >&2 3>&-; exit "${PIPESTATUS[0]}"; } 3>&1 | cat && rc=0 || rc=${PIPESTATUS[0]}; }
  return "$rc"
}
