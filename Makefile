# lipc: the front door. `make demo` and `make test` install what they need.
GO        ?= go
CC        ?= cc
PREFIX    ?= /usr/local
BUILD     := build
LIB       := $(BUILD)/liblipc.so
SONAME    := liblipc.so.0
VERSION   := $(shell sed -n 's/^\#define LIPC_VERSION_STRING "\(.*\)"/\1/p' include/lipc.h)
CFLAGS_T  := -Wall -Wextra -Werror -O2 -Iinclude
# -s -w: strip; asyncpreemptoff: lipc lives in other runtimes' processes and
# gives SIGURG back to them (host-runtimes.md F5); the version script keeps
# every symbol but the public lipc_* inside the library.
GO_LDFLAGS := -s -w -X=runtime.godebugDefault=asyncpreemptoff=1 \
  -extldflags=-Wl,--version-script=$(CURDIR)/capi/lipc.map,-soname,$(SONAME)
GO_SRC    := $(shell find capi core -name '*.go' -o -name '*.c' -o -name '*.h' -o -name '*.map') go.mod include/lipc.h

.PHONY: all deps demo test soak bench install lint clean adversarial \
        test-go test-c test-abi test-python test-luajit test-lisp test-decls

all: $(LIB)

$(LIB): $(GO_SRC)
	@mkdir -p $(BUILD)
	$(GO) build -buildmode=c-shared -ldflags='$(GO_LDFLAGS)' -o $@ ./capi
	@rm -f $(BUILD)/liblipc.h
	ln -sf liblipc.so $(BUILD)/$(SONAME)

deps: $(BUILD)/.deps
$(BUILD)/.deps: scripts/deps.sh go.mod
	@mkdir -p $(BUILD)
	scripts/deps.sh
	@touch $@

demo: deps all
	scripts/demo.sh

test: deps all
	scripts/test.sh

soak: deps all
	LIPC_SOAK_SECONDS=$${LIPC_SOAK_SECONDS:-120} LIPC_SOAK_RUNS=$${LIPC_SOAK_RUNS:-10} scripts/test.sh soak

# The attacks alone (they also run in `make test`, and longer in `make soak`).
adversarial: all
	tests/adversarial/run.sh quick

bench: deps all
	scripts/bench.sh

lint: all
	@out=$$(gofmt -l capi core tests); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./core/... ./capi/ ./tests/...
	$(CC) -Wall -Wextra -Werror -fsyntax-only capi/*.c core/*/*.c

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0755 $(LIB) $(DESTDIR)$(PREFIX)/lib/liblipc.so.$(VERSION)
	ln -sf liblipc.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/liblipc.so
	install -m 0644 include/lipc.h $(DESTDIR)$(PREFIX)/include/lipc.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' lipc.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/lipc.pc

clean:
	rm -rf $(BUILD)
