# lipc: the front door. `make demo` and `make test` install what they need.
# Go: the PATH's, or the toolchain deps.sh put in build/toolchain when the
# PATH had none new enough for go.mod (first on the PATH of every recipe and
# script; recursive so that it sees a toolchain deps installed in this run).
ORIG_PATH := $(PATH)
export PATH = $(if $(wildcard $(CURDIR)/build/toolchain/bin/go),$(CURDIR)/build/toolchain/bin:)$(ORIG_PATH)
GO        ?= go
CC        ?= cc
PREFIX    ?= /usr/local
LIBDIR    ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# PC_RPATH=1 writes -Wl,-rpath,$${libdir} into lipc.pc (for a prefix the
# dynamic loader does not search); packagers leave it off.
PC_RPATH  ?=
BUILD     := build
LIB       := $(BUILD)/liblipc.so
# The one place the version lives is include/lipc.h (as libuv keeps it in
# uv/version.h): the soname, lipc.pc, the wheel, the rock and lipc.asd all
# read it from there.
VERSION   := $(shell sed -n 's/^\#define LIPC_VERSION_STRING "\(.*\)"/\1/p' include/lipc.h)
MAJOR     := $(shell sed -n 's/^\#define LIPC_VERSION_MAJOR \([0-9]*\)/\1/p' include/lipc.h)
SONAME    := liblipc.so.$(MAJOR)
comma     := ,
CFLAGS_T  := -Wall -Wextra -Werror -O2 -Iinclude
# -s -w: strip; asyncpreemptoff: lipc lives in other runtimes' processes and
# gives SIGURG back to them (host-runtimes.md F5); the version script keeps
# every symbol but the public lipc_* inside the library.
GO_LDFLAGS := -s -w -X=runtime.godebugDefault=asyncpreemptoff=1 \
  -extldflags=-Wl,--version-script=$(CURDIR)/capi/lipc.map,-soname,$(SONAME)
# The library the packages ship (make dist: the wheel, the binary rock):
# the same sources and flags, compiled and linked by zig (scripts/zig-cc.sh)
# against glibc RELEASE_GLIBC's symbol versions, so that it loads on every
# glibc from that one on (manylinux2014), not only on this machine's.
RELEASE_GLIBC := 2.17
REL_LIB   := $(BUILD)/release/liblipc.so
ZIG       := $(CURDIR)/$(BUILD)/zig
GO_SRC    := $(shell find capi core -name '*.go' -o -name '*.c' -o -name '*.h' -o -name '*.map') go.mod include/lipc.h
# Go's build cache keys a cgo package on the files in its own directory, so
# it did not see a change to the headers capi includes from elsewhere (core's
# inline fast paths, the public header) and linked the old objects. Their
# checksum among the C preprocessor flags makes it see them.
HDR_SUM   := $(shell find core include -name '*.h' | LC_ALL=C sort | xargs cat | cksum | cut -d' ' -f1)
export CGO_CPPFLAGS := $(strip $(CGO_CPPFLAGS) -DLIPC_HEADERS_SUM=$(HDR_SUM))

.PHONY: all release test-old-glibc deps test-deps demo test soak bench install uninstall dist lint clean adversarial windows windows-test

all: $(LIB)

define check_go
need=$$(sed -n 's/^go //p' go.mod); have=$$(cd / && GOTOOLCHAIN=local $(GO) env GOVERSION 2>/dev/null | sed -n 's/^go\([0-9.]*\).*/\1/p'); \
	if [ -z "$$have" ] || [ "$$(printf '%s\n%s\n' "$$need" "$$have" | sort -V | head -n1)" != "$$need" ]; then \
	  echo "lipc needs Go >= $$need to build (found: $${have:-none}); 'make deps' installs one" >&2; exit 1; fi
endef

$(LIB): $(GO_SRC)
	@mkdir -p $(BUILD)
	@$(check_go)
	$(GO) build -buildmode=c-shared -ldflags='$(GO_LDFLAGS)' -o $@ ./capi
	@rm -f $(BUILD)/liblipc.h
	ln -sf liblipc.so $(BUILD)/$(SONAME)

# The release library (see REL_LIB); zig comes from PyPI (scripts/deps.sh
# release), its caches stay in build/. The floor is checked on the result.
release: $(REL_LIB)
$(REL_LIB): $(GO_SRC) scripts/zig-cc.sh scripts/glibc_floor.sh | $(BUILD)/.deps-release
	@$(check_go)
	@mkdir -p $(@D)
	CC=$(CURDIR)/scripts/zig-cc.sh LIPC_ZIG=$(ZIG) LIPC_GLIBC=$(RELEASE_GLIBC) CGO_ENABLED=1 \
	  ZIG_GLOBAL_CACHE_DIR=$(CURDIR)/$(BUILD)/zig-cache ZIG_LOCAL_CACHE_DIR=$(CURDIR)/$(BUILD)/zig-cache \
	  $(GO) build -buildmode=c-shared -ldflags='$(GO_LDFLAGS)' -o $@ ./capi
	@rm -f $(@D)/liblipc.h
	ln -sf liblipc.so $(@D)/$(SONAME)
	scripts/glibc_floor.sh $@ $(RELEASE_GLIBC)

# Windows x64: lipc.dll cross-built with mingw (scripts/windows/build.sh),
# with its import library; scripts/windows/setup.sh installs mingw and Wine.
WIN_DLL   := $(BUILD)/windows/lipc.dll
windows: $(WIN_DLL)
# The Windows suites under Wine (they also run in `make test`).
windows-test: test-deps
	scripts/windows/test.sh
$(WIN_DLL): $(GO_SRC) scripts/windows/build.sh
	@$(MAKE) -s deps
	scripts/windows/build.sh

# deps: what building needs; test-deps: also what testing and packaging need.
deps: $(BUILD)/.deps
$(BUILD)/.deps: scripts/deps.sh go.mod
	@mkdir -p $(BUILD)
	scripts/deps.sh
	@touch $@
$(BUILD)/.deps-release: scripts/deps.sh go.mod
	@mkdir -p $(BUILD)
	scripts/deps.sh release
	@touch $@ $(BUILD)/.deps
test-deps: $(BUILD)/.deps-test
$(BUILD)/.deps-test: scripts/deps.sh go.mod scripts/windows/setup.sh tests/windows/requirements.txt tests/windows/bcryptprimitives.c
	@mkdir -p $(BUILD)
	scripts/deps.sh test
	@touch $@ $(BUILD)/.deps $(BUILD)/.deps-release

demo: deps all
	scripts/demo.sh

test: test-deps all
	scripts/test.sh

soak: test-deps all
	LIPC_SOAK_SECONDS=$${LIPC_SOAK_SECONDS:-120} LIPC_SOAK_RUNS=$${LIPC_SOAK_RUNS:-10} scripts/test.sh soak

# The attacks alone (they also run in `make test`, and longer in `make soak`).
adversarial: all
	tests/adversarial/run.sh quick

bench: test-deps all
	scripts/bench.sh

lint: all
	@out=$$(gofmt -l capi core tests); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./core/... ./capi/ ./tests/...
	$(CC) -Wall -Wextra -Werror -fsyntax-only $(filter-out %_windows.c,$(wildcard capi/*.c core/*/*.c))
	@if command -v x86_64-w64-mingw32-gcc >/dev/null; then \
	  x86_64-w64-mingw32-gcc -Wall -Wextra -Werror -fsyntax-only -DLIPC_BUILDING -D__USE_MINGW_ANSI_STDIO=1 \
	    $(filter-out %_linux.c,$(wildcard capi/*.c core/*/*.c)) && \
	  CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc GOOS=windows GOARCH=amd64 $(GO) vet ./capi/; \
	else echo "lint: mingw not installed, Windows files not checked (scripts/windows/setup.sh)"; fi

# The C library, its header and lipc.pc, as autotools and libuv lay them out;
# DESTDIR stages for a packager. The library is liblipc.so.VERSION with the
# soname link liblipc.so.MAJOR and the development link liblipc.so.
install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 0755 $(LIB) $(DESTDIR)$(LIBDIR)/liblipc.so.$(VERSION)
	ln -sf liblipc.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/liblipc.so
	install -m 0644 include/lipc.h $(DESTDIR)$(INCLUDEDIR)/lipc.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' -e 's|@RPATH@|$(if $(PC_RPATH),-Wl$(comma)-rpath$(comma)$${libdir} ,)|' \
	    lipc.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/lipc.pc
	@# A real install (no DESTDIR) by root refreshes the loader's cache, as
	@# libtool does, so that dlopen("liblipc.so.0") finds it at once.
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/liblipc.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	      $(DESTDIR)$(LIBDIR)/liblipc.so $(DESTDIR)$(INCLUDEDIR)/lipc.h $(DESTDIR)$(PKGCONFIGDIR)/lipc.pc
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

# Packages for each language's installer, into build/dist/: the Python wheel
# (liblipc.so inside, manylinux tag checked by auditwheel) and sdist (builds
# the library from source, Go modules vendored), and the LuaJIT binary rock.
dist: test-deps all release windows
	scripts/dist.sh

# The wheel's and the rock's library on a real older glibc (Debian 11's
# 2.31, in a chroot debootstrapped once into build/old-glibc): Python, the
# C suites and the LuaJIT suite. Needs root and Debian's mirror; not part
# of `make test`, which checks the release library's symbol versions.
test-old-glibc: dist
	scripts/test_old_glibc.sh

clean:
	rm -rf $(BUILD)
