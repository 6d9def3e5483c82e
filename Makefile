# churn.h - build, tests, compile matrix, sanitizers, install. GNU make.
#
#   make / make all     quick compile-matrix subset, tests, examples, benches
#   make test           build and run the test suite (tests/run.sh); last line "N passed, N failed"
#   make check-all      the whole matrix: compilers x standards, C++, musl, include patterns,
#                       exported symbols, install + pkg-config, CMake consumer, cppcheck,
#                       clang --analyze, ASan+UBSan (gcc, clang), valgrind, TSan, fuzz
#   make check-STAGE    one stage of check-all (see CHECK_STAGES)
#   make bench          build and run every bench/*.c
#   make demo           build the examples and run examples/demo.sh
#   make soak           run the test binaries with CHURN_SOAK=1
#   make install        churn.h -> $(DESTDIR)$(PREFIX)/include, churn.pc -> .../lib/pkgconfig
#   make uninstall | clean
#   make test-windows   the Windows port under wine (mk/windows.mk)
#   make check-macos    the macOS port, build-verified with zig cc (mk/macos.mk)
#   KEEP_GOING=1        check-all runs every stage, then fails listing the failed ones
#
# Layout: build/churn_impl.o (tests/churn_impl.c), build/tests/test_* (tests/test_*.c),
# build/<example> (examples/*.c; churn_gate.c -> build/churn-gate), build/bench/<name>,
# build/compile/ (matrix), build/asan-gcc, build/asan-clang, build/tsan (sanitizer trees).

.DEFAULT_GOAL := all
SHELL := /bin/bash
.DELETE_ON_ERROR:
.SUFFIXES:

# ---- tools and flags --------------------------------------------------------------------
CC       ?= cc
CXX      ?= g++
GCC      ?= gcc
GXX      ?= g++
CLANG    ?= clang
CLANGXX  ?= clang++
MUSL_GCC ?= musl-gcc
VALGRIND ?= valgrind
CPPCHECK ?= cppcheck
CMAKE    ?= cmake
NM       ?= nm
PKG_CONFIG ?= pkg-config

PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build

WARN     := -Wall -Wextra -Wpedantic -Werror
OPT      ?= -g
SAN      ?=
LDLIBS   := -lm
# Flags every tests/test_*.c and examples/*.c is built with (the contract other files rely on).
TEST_CFLAGS    = -std=c99 $(WARN) -D_GNU_SOURCE -pthread $(OPT) $(SAN) -Itests -I.
EXAMPLE_CFLAGS = -std=c99 $(WARN) -D_GNU_SOURCE -pthread $(OPT) $(SAN) -I.
BENCH_CFLAGS   = -std=c99 $(WARN) -D_GNU_SOURCE -pthread -O2 -g -I.

# Tests the valgrind and TSan stages run (whichever of them exist).
VALGRIND_TESTS ?= test_snapshot test_inventory test_verdict test_json test_report
TSAN_TESTS     ?= test_threads test_hardening

SAN_ASAN   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_TSAN   := -fsanitize=thread
# Sanitizer trees build at -O1, where gcc's flow-based warnings (-Wformat-truncation, ...) fire
# in places -O0 never looks; they stay visible but do not fail these runtime-checking builds
# (the warning policy is enforced by the normal build and by check-compile at -O2).
SAN_OPT    := -g -O1 -Wno-error
UBSAN_RUN_OPTIONS    := halt_on_error=1:print_stacktrace=1
ASAN_RUN_OPTIONS     := detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1
TSAN_RUN_OPTIONS     := halt_on_error=1:second_deadlock_stack=1
VALGRIND_FLAGS := --leak-check=full --track-fds=yes --error-exitcode=1 \
                  --errors-for-leak-kinds=definite --child-silent-after-fork=yes
FUZZ_SECONDS   ?= 20

VERSION := $(shell sed -n 's/^\#define CHURN_VERSION_STRING "\(.*\)"/\1/p' churn.h)
PC_LIBS := -pthread -lm

# ---- sources, found by glob ---------------------------------------------------------------
TEST_SRCS     := $(sort $(wildcard tests/test_*.c))
TEST_NAMES    := $(notdir $(TEST_SRCS:.c=))
TEST_BINS     := $(addprefix $(BUILD)/tests/,$(TEST_NAMES))
TEST_SCRIPTS  := $(sort $(wildcard tests/test_*.sh))
EXAMPLE_NAMES := $(notdir $(basename $(sort $(wildcard examples/*.c))))
BENCH_NAMES   := $(notdir $(basename $(sort $(wildcard bench/*.c))))
BENCH_BINS    := $(addprefix $(BUILD)/bench/,$(BENCH_NAMES))
# examples whose binary name has dashes for underscores
DASHED_EXAMPLES := churn_gate
example_bin    = $(BUILD)/$(if $(filter $1,$(DASHED_EXAMPLES)),$(subst _,-,$1),$1)
EXAMPLE_BINS  := $(foreach e,$(EXAMPLE_NAMES),$(call example_bin,$e))

VALGRIND_PRESENT := $(filter $(TEST_NAMES),$(VALGRIND_TESTS))
TSAN_PRESENT     := $(filter $(TEST_NAMES),$(TSAN_TESTS))

# `$(call have,TOOL)` in a shell condition: true when TOOL is installed; when it is not, an
# error under CI (CI set) and otherwise a printed SKIP and false.
have = { command -v $(firstword $1) >/dev/null 2>&1 || { \
           if [ -n "$${CI:-}" ]; then echo "error: $(firstword $1) is required when CI is set" >&2; exit 1; fi; \
           echo "SKIP: $(firstword $1) is not installed"; false; }; }

.PHONY: all test tests examples bench bench-build demo soak install uninstall clean \
        compile-quick check-all test-windows check-macos help

all: compile-quick tests examples bench-build

help:
	@sed -n '2,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

# ---- tests --------------------------------------------------------------------------------
$(BUILD) $(BUILD)/tests $(BUILD)/bench $(BUILD)/compile:
	@mkdir -p $@

$(BUILD)/churn_impl.o: tests/churn_impl.c churn.h | $(BUILD)
	$(CC) $(TEST_CFLAGS) -c $< -o $@

$(BUILD)/tests/%: tests/%.c $(BUILD)/churn_impl.o churn.h tests/churn_test.h | $(BUILD)/tests
	$(CC) $(TEST_CFLAGS) -MMD -MP -MF $@.d $< $(BUILD)/churn_impl.o -o $@ $(LDLIBS)

tests: $(TEST_BINS)

test: tests examples
	@bash tests/run.sh --bin-dir $(BUILD)/tests

soak: tests
	@CHURN_SOAK=1 CHURN_TEST_TIMEOUT=$${CHURN_TEST_TIMEOUT:-3600} bash tests/run.sh --no-scripts --bin-dir $(BUILD)/tests

# ---- examples and benches -----------------------------------------------------------------
define EXAMPLE_RULE
$(call example_bin,$1): examples/$1.c churn.h | $(BUILD)
	$$(CC) $$(EXAMPLE_CFLAGS) -MMD -MP -MF $$@.d $$< -o $$@ $$(LDLIBS)
endef
$(foreach e,$(EXAMPLE_NAMES),$(eval $(call EXAMPLE_RULE,$e)))

examples: $(EXAMPLE_BINS)

$(BUILD)/bench/%: bench/%.c churn.h | $(BUILD)/bench
	$(CC) $(BENCH_CFLAGS) -MMD -MP -MF $@.d $< -o $@ $(LDLIBS)

bench-build: $(BENCH_BINS)

bench: bench-build
	@set -e; for b in $(BENCH_BINS); do echo "==== $$b"; "$$b"; done; \
	 [ -n "$(BENCH_BINS)" ] || echo "no bench/*.c yet"

demo: examples
	@if [ ! -f examples/demo.sh ]; then echo "make demo: examples/demo.sh does not exist yet" >&2; exit 1; fi
	bash examples/demo.sh

-include $(wildcard $(BUILD)/tests/*.d $(BUILD)/*.d $(BUILD)/bench/*.d)

# ---- install ------------------------------------------------------------------------------
install: $(BUILD)/churn.pc
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 churn.h $(DESTDIR)$(PREFIX)/include/churn.h
	install -m 644 $(BUILD)/churn.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/churn.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/churn.h $(DESTDIR)$(PREFIX)/lib/pkgconfig/churn.pc

# Regenerated whenever PREFIX changes (the recorded prefix is compared).
$(BUILD)/churn.pc: churn.pc.in churn.h FORCE | $(BUILD)
	@sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' -e 's|@LIBS@|$(PC_LIBS)|g' \
	    churn.pc.in > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

.PHONY: FORCE
FORCE:

clean:
	rm -rf $(BUILD)

# ---- compile matrix -----------------------------------------------------------------------
# Each entry compiles and links tests/compile/* into $(CB)/<name> and runs it; a run that
# exits non-zero names the failing step by its status (see tests/compile/smoke.h).
CB          := $(BUILD)/compile
MATRIX_LIBS := -pthread -lm
MATRIX_DEPS := churn.h tests/compile/smoke.h
MATRIX_OKS  :=

# $(call MATRIX,name,compiler and flags,sources)
define MATRIX
$(CB)/$1: $3 $(MATRIX_DEPS) | $(CB)
	@echo "  build  $1: $2 $3"
	@$2 $(WARN) $3 -o $$@ $(MATRIX_LIBS)
$(CB)/$1.ok: $(CB)/$1
	@$$< && touch $$@ || { s=$$$$?; echo "  FAIL   $1: exited with status $$$$s (see tests/compile/smoke.h)"; exit 1; }
	@echo "  ran    $1"
MATRIX_OKS += $(CB)/$1.ok
endef

TC := tests/compile
$(eval $(call MATRIX,c99-gcc,$(GCC) -std=c99,$(TC)/impl.c))
$(eval $(call MATRIX,c99-gcc-O2,$(GCC) -std=c99 -O2 -D_FORTIFY_SOURCE=2,$(TC)/impl.c))
$(eval $(call MATRIX,c11-gcc,$(GCC) -std=c11,$(TC)/impl.c))
$(eval $(call MATRIX,c11-gcc-O2,$(GCC) -std=c11 -O2 -D_FORTIFY_SOURCE=2,$(TC)/impl.c))
$(eval $(call MATRIX,c99-clang,$(CLANG) -std=c99,$(TC)/impl.c))
$(eval $(call MATRIX,c99-clang-O2,$(CLANG) -std=c99 -O2,$(TC)/impl.c))
$(eval $(call MATRIX,c11-clang-O2,$(CLANG) -std=c11 -O2 -D_FORTIFY_SOURCE=2,$(TC)/impl.c))
$(eval $(call MATRIX,cpp11-gxx,$(GXX) -std=c++11 -O2,$(TC)/impl.cpp))
$(eval $(call MATRIX,cpp17-clangxx,$(CLANGXX) -std=c++17 -O2,$(TC)/impl.cpp))
$(eval $(call MATRIX,preinclude-gcc,$(GCC) -std=c99,$(TC)/preinclude.c))
$(eval $(call MATRIX,preinclude-clang,$(CLANG) -std=c11 -O2,$(TC)/preinclude.c))
$(eval $(call MATRIX,preinclude-gnu-gcc,$(GCC) -std=gnu99 -D_GNU_SOURCE -O2,$(TC)/preinclude.c))
$(eval $(call MATRIX,multi-tu-gcc,$(GCC) -std=c99,$(TC)/multi_a.c $(TC)/multi_b.c))
$(eval $(call MATRIX,multi-tu-clang,$(CLANG) -std=c11 -O2,$(TC)/multi_a.c $(TC)/multi_b.c))
$(eval $(call MATRIX,static-one-gcc,$(GCC) -std=c99,$(TC)/static_one.c))
$(eval $(call MATRIX,static-one-gcc-O2,$(GCC) -std=c99 -O2,$(TC)/static_one.c))
$(eval $(call MATRIX,static-one-clang,$(CLANG) -std=c99 -O2,$(TC)/static_one.c))
$(eval $(call MATRIX,static-one-gxx,$(GXX) -std=c++11 -x c++,$(TC)/static_one.c))
$(eval $(call MATRIX,double-include-gcc,$(GCC) -std=c99,$(TC)/double_include.c))
$(eval $(call MATRIX,double-include-gxx,$(GXX) -std=c++11 -x c++,$(TC)/double_include.c))
$(eval $(call MATRIX,no-stdio-gcc,$(GCC) -std=c99 -O2 -DCHURN_NO_STDIO,$(TC)/impl.c))
$(eval $(call MATRIX,no-stdio-clang,$(CLANG) -std=c11 -DCHURN_NO_STDIO,$(TC)/impl.c))
$(eval $(call MATRIX,no-net-gcc,$(GCC) -std=c99 -O2 -DCHURN_NO_NET,$(TC)/impl.c))
$(eval $(call MATRIX,no-net-clang,$(CLANG) -std=c11 -DCHURN_NO_NET,$(TC)/impl.c))
$(eval $(call MATRIX,no-stdio-no-net-gxx,$(GXX) -std=c++11 -DCHURN_NO_STDIO -DCHURN_NO_NET,$(TC)/impl.cpp))
$(eval $(call MATRIX,alloc-gcc,$(GCC) -std=c99,$(TC)/alloc.c))

# Linked with no extra library at all (no -lm, no -pthread): what a user's plain `cc x.c` does.
$(CB)/no-libs: $(TC)/impl.c $(MATRIX_DEPS) | $(CB)
	@echo "  build  no-libs: $(GCC) -std=c99 $(TC)/impl.c (no -lm, no -pthread)"
	@$(GCC) -std=c99 $(WARN) $(TC)/impl.c -o $@
$(CB)/no-libs.ok: $(CB)/no-libs
	@$< && touch $@ || { s=$$?; echo "  FAIL   no-libs: exited with status $$s"; exit 1; }
	@echo "  ran    no-libs"
MATRIX_OKS += $(CB)/no-libs.ok

# Several language standards in one binary: C99 (implementation), C11 and C++11 parts.
$(CB)/multistd: $(TC)/std_c99.c $(TC)/std_c11.c $(TC)/std_cpp11.cpp $(MATRIX_DEPS) | $(CB)
	@echo "  build  multistd: gcc -std=c99 + gcc -std=c11 + g++ -std=c++11, linked with g++"
	@$(GCC) -std=c99 $(WARN) -c $(TC)/std_c99.c -o $(CB)/std_c99.o
	@$(GCC) -std=c11 $(WARN) -c $(TC)/std_c11.c -o $(CB)/std_c11.o
	@$(GXX) -std=c++11 $(WARN) -c $(TC)/std_cpp11.cpp -o $(CB)/std_cpp11.o
	@$(GXX) $(CB)/std_c99.o $(CB)/std_c11.o $(CB)/std_cpp11.o -o $@ $(MATRIX_LIBS)
$(CB)/multistd.ok: $(CB)/multistd
	@$< && touch $@ || { s=$$?; echo "  FAIL   multistd: exited with status $$s"; exit 1; }
	@echo "  ran    multistd"
MATRIX_OKS += $(CB)/multistd.ok

# CHURN_MALLOC without CHURN_REALLOC/CHURN_FREE must not compile.
$(CB)/alloc-partial.ok: $(TC)/alloc_partial.c churn.h | $(CB)
	@if $(GCC) -std=c99 $(WARN) -c $< -o $(CB)/alloc_partial.o 2>$(CB)/alloc_partial.err; then \
	   echo "  FAIL   alloc-partial: CHURN_MALLOC alone compiled; it must be an #error"; exit 1; fi
	@grep -q '#error\|error:' $(CB)/alloc_partial.err && touch $@
	@echo "  ok     alloc-partial: CHURN_MALLOC alone is rejected"
MATRIX_OKS += $(CB)/alloc-partial.ok

# musl (Debian musl-tools): required when CI is set, skipped with a note otherwise.
# churn.h uses Linux UAPI headers (<linux/inet_diag.h>, ...), which musl-gcc's private include
# path lacks on Debian; like Alpine's linux-headers package, $(CB)/musl-include links the
# kernel's (libc-independent) linux/, asm/ and asm-generic/ directories.
HAVE_MUSL    := $(shell command -v $(MUSL_GCC) 2>/dev/null)
MUSL_INC     := $(CB)/musl-include
MUSL_ARCH    := $(shell $(GCC) -print-multiarch 2>/dev/null)
MUSL         := $(MUSL_GCC) -isystem $(MUSL_INC)
$(MUSL_INC)/.stamp: | $(CB)
	@mkdir -p $(MUSL_INC)
	@ln -sfn /usr/include/linux $(MUSL_INC)/linux
	@ln -sfn /usr/include/asm-generic $(MUSL_INC)/asm-generic
	@if [ -d /usr/include/$(MUSL_ARCH)/asm ]; then ln -sfn /usr/include/$(MUSL_ARCH)/asm $(MUSL_INC)/asm; \
	 else ln -sfn /usr/include/asm $(MUSL_INC)/asm; fi
	@touch $@
ifneq ($(HAVE_MUSL)$(CI),)
$(eval $(call MATRIX,c99-musl,$(MUSL) -std=c99 -O2,$(TC)/impl.c))
$(eval $(call MATRIX,c11-musl,$(MUSL) -std=c11,$(TC)/multi_a.c $(TC)/multi_b.c))
$(eval $(call MATRIX,preinclude-musl,$(MUSL) -std=c99,$(TC)/preinclude.c))
$(CB)/c99-musl $(CB)/c11-musl $(CB)/preinclude-musl $(CB)/sym-musl.o: $(MUSL_INC)/.stamp
endif

# The quick subset `make all` builds.
QUICK_OKS := $(CB)/c99-cc.ok $(CB)/cpp11-cxx.ok $(CB)/multi-tu-gcc.ok $(CB)/static-one-gcc.ok
$(eval $(call MATRIX,c99-cc,$(CC) -std=c99,$(TC)/impl.c))
$(eval $(call MATRIX,cpp11-cxx,$(CXX) -std=c++11,$(TC)/impl.cpp))
compile-quick: $(QUICK_OKS)

# ---- check-all stages ---------------------------------------------------------------------
CHECK_STAGES := check-compile check-symbols check-namespace check-install check-cmake \
                check-cppcheck check-analyze check-asan-gcc check-asan-clang check-valgrind \
                check-tsan check-fuzz
.PHONY: $(CHECK_STAGES)

desc_check-compile   := compile matrix: gcc/clang c99/c11 -O0/-O2, g++ c++11, clang++ c++17, musl, pre-included headers, two TUs, CHURN_STATIC, double include, NO_STDIO/NO_NET, allocator, mixed standards
desc_check-symbols   := exported symbols: nm -g --defined-only shows only churn_* (CHURN_STATIC: main only)
desc_check-namespace := declarations namespace: churn.h adds only CHURN_* macros beyond <stddef.h>/<stdio.h>
desc_check-install   := make install into a staging dir, then build with pkg-config --cflags --libs churn
desc_check-cmake     := CMake consumer: add_subdirectory, FetchContent(SOURCE_DIR), find_package of an install
desc_check-cppcheck  := cppcheck --enable=warning,performance,portability over the implementation (Linux, NO_NET+NO_STDIO, Windows, macOS)
desc_check-analyze   := clang --analyze -analyzer-werror over the implementation
desc_check-asan-gcc  := the test suite under ASan+UBSan, built with gcc
desc_check-asan-clang:= the test suite under ASan+UBSan, built with clang
desc_check-valgrind  := valgrind --leak-check=full --track-fds=yes of: $(or $(VALGRIND_PRESENT),(none yet))
desc_check-tsan      := ThreadSanitizer (clang) of: $(or $(TSAN_PRESENT),(none yet))
desc_check-fuzz      := libFuzzer JSON fuzz target (fuzz/fuzz_json.c), $(FUZZ_SECONDS) s

# Stops at the first failing stage; KEEP_GOING=1 runs every stage and fails at the end.
KEEP_GOING ?=
check-all:
	@start=$$(date +%s); summary=""; failed=""; \
	for s in $(CHECK_STAGES); do \
	  printf '\n======== %s ========\n' "$$s"; \
	  t0=$$(date +%s); \
	  $(MAKE) --no-print-directory -s stage-banner-$$s; \
	  if $(MAKE) --no-print-directory $$s; then st=ok; else st=FAILED; failed="$$failed $$s"; fi; \
	  dt=$$(( $$(date +%s) - t0 )); summary="$$summary  $$(printf '%-18s %-6s %4ss' $$s $$st $$dt)\n"; \
	  if [ $$st = ok ]; then printf -- '-------- %s ok (%ss)\n' "$$s" "$$dt"; \
	  else printf '\n======== %s FAILED after %ss ========\n' "$$s" "$$dt"; \
	    if [ -z "$(KEEP_GOING)" ]; then printf '%b' "$$summary"; exit 1; fi; fi; \
	done; \
	if [ -n "$$failed" ]; then printf '\ncheck-all: FAILED stages:%s (%ss)\n%b' "$$failed" "$$(( $$(date +%s) - start ))" "$$summary"; exit 1; fi; \
	printf '\ncheck-all: every stage passed in %ss\n%b' "$$(( $$(date +%s) - start ))" "$$summary"

stage-banner-%:
	@echo "$(desc_$*)"

ifneq ($(CI),)
ifeq ($(HAVE_MUSL),)
MUSL_REQUIRED := musl-required
musl-required:
	@echo "error: $(MUSL_GCC) is required when CI is set (Debian: apt-get install musl-tools)" >&2; exit 1
endif
endif

check-compile: $(MUSL_REQUIRED) $(MATRIX_OKS)
	@$(if $(HAVE_MUSL)$(CI),,echo "SKIP: musl-gcc is not installed (apt-get install musl-tools); musl entries skipped")
	@echo "compile matrix: $(words $(MATRIX_OKS)) entries ok"

# Objects whose exported symbols are checked.
SYM_OBJS := $(BUILD)/churn_impl.o $(CB)/sym-gcc-O2.o $(CB)/sym-clang.o $(CB)/sym-gxx.o \
            $(CB)/sym-clangxx.o $(CB)/sym-no-net.o $(CB)/sym-no-stdio.o \
            $(if $(HAVE_MUSL)$(CI),$(CB)/sym-musl.o)
$(CB)/sym-gcc-O2.o: $(TC)/impl_only.c churn.h | $(CB)
	$(GCC) -std=c99 -O2 $(WARN) -c $< -o $@
$(CB)/sym-clang.o: $(TC)/impl_only.c churn.h | $(CB)
	$(CLANG) -std=c11 $(WARN) -c $< -o $@
$(CB)/sym-gxx.o: $(TC)/impl_only.cpp churn.h | $(CB)
	$(GXX) -std=c++11 -O2 $(WARN) -c $< -o $@
$(CB)/sym-clangxx.o: $(TC)/impl_only.cpp churn.h | $(CB)
	$(CLANGXX) -std=c++17 $(WARN) -c $< -o $@
$(CB)/sym-no-net.o: $(TC)/impl_only.c churn.h | $(CB)
	$(GCC) -std=c99 -O2 -DCHURN_NO_NET $(WARN) -c $< -o $@
$(CB)/sym-no-stdio.o: $(TC)/impl_only.c churn.h | $(CB)
	$(GCC) -std=c99 -O2 -DCHURN_NO_STDIO $(WARN) -c $< -o $@
$(CB)/sym-musl.o: $(TC)/impl_only.c churn.h | $(CB)
	$(MUSL) -std=c99 -O2 $(WARN) -c $< -o $@
$(CB)/static-one.o: $(TC)/static_one.c churn.h | $(CB)
	$(GCC) -std=c99 -O2 $(WARN) -c $< -o $@

NO_NET_FORBIDDEN   := connect|accept|accept4|listen|getaddrinfo|freeaddrinfo|gai_strerror|send|shutdown
NO_STDIO_FORBIDDEN := fopen|fopen64|fdopen|fclose|fflush|fprintf|vfprintf|fputs|fputc|fwrite|printf|puts|putchar|__fprintf_chk|__printf_chk|__vfprintf_chk
check-symbols: $(SYM_OBJS) $(CB)/static-one.o
	@bad=0; for o in $(SYM_OBJS); do \
	  syms=$$($(NM) -g --defined-only "$$o" | awk 'NF>=3 {print $$3}'); \
	  n=$$(printf '%s\n' "$$syms" | grep -c '^churn_'); \
	  other=$$(printf '%s\n' "$$syms" | grep -v '^churn_' | grep -v '^$$' || true); \
	  if [ -n "$$other" ]; then echo "  FAIL   $$o exports symbols outside churn_*:"; \
	     printf '           %s\n' $$other; bad=1; \
	  elif [ "$$n" -eq 0 ]; then echo "  FAIL   $$o exports no churn_* symbol (implementation missing?)"; bad=1; \
	  else echo "  ok     $$o: $$n symbols, all churn_*"; fi; \
	done; \
	refs=$$($(NM) -u $(CB)/sym-no-net.o | awk '{print $$NF}' | grep -xE '$(NO_NET_FORBIDDEN)' || true); \
	if [ -n "$$refs" ]; then echo "  FAIL   CHURN_NO_NET object still calls:" $$refs; bad=1; \
	else echo "  ok     CHURN_NO_NET object calls none of connect/accept/getaddrinfo/..."; fi; \
	refs=$$($(NM) -u $(CB)/sym-no-stdio.o | awk '{print $$NF}' | grep -xE '$(NO_STDIO_FORBIDDEN)' || true); \
	if [ -n "$$refs" ]; then echo "  FAIL   CHURN_NO_STDIO object still calls FILE* functions:" $$refs; bad=1; \
	else echo "  ok     CHURN_NO_STDIO object calls no FILE* function"; fi; \
	other=$$($(NM) -g --defined-only $(CB)/static-one.o | awk 'NF>=3 {print $$3}' | grep -vx main || true); \
	if [ -n "$$other" ]; then echo "  FAIL   CHURN_STATIC object exports more than main: $$other"; bad=1; \
	else echo "  ok     CHURN_STATIC object exports only main"; fi; \
	exit $$bad

check-namespace: | $(CB)
	@$(GCC) -std=c99 -dM -E $(TC)/namespace_base.c | awk '{print $$2}' | sed 's/(.*//' | sort -u > $(CB)/ns-base.txt
	@$(GCC) -std=c99 -dM -E $(TC)/namespace.c | awk '{print $$2}' | sed 's/(.*//' | sort -u > $(CB)/ns-churn.txt
	@$(GXX) -std=c++11 -dM -E -x c++ $(TC)/namespace_base.c | awk '{print $$2}' | sed 's/(.*//' | sort -u > $(CB)/ns-base-cxx.txt
	@$(GXX) -std=c++11 -dM -E -x c++ $(TC)/namespace.c | awk '{print $$2}' | sed 's/(.*//' | sort -u > $(CB)/ns-churn-cxx.txt
	@bad=$$( (comm -13 $(CB)/ns-base.txt $(CB)/ns-churn.txt; comm -13 $(CB)/ns-base-cxx.txt $(CB)/ns-churn-cxx.txt) \
	        | grep -v '^CHURN_' | sort -u); \
	 n=$$(comm -13 $(CB)/ns-base.txt $(CB)/ns-churn.txt | grep -c '^CHURN_'); \
	 if [ -n "$$bad" ]; then echo "  FAIL   the declarations part defines macros outside CHURN_*:"; \
	    printf '           %s\n' $$bad; exit 1; fi; \
	 echo "  ok     declarations add $$n macros, all CHURN_* (C and C++)"
	@$(GCC) -std=c99 -fsyntax-only -Wall -Wextra -Wpedantic -Werror -Wredundant-decls -Wmissing-prototypes -Wstrict-prototypes $(TC)/namespace.c
	@echo "  ok     declarations pass -Wredundant-decls -Wmissing-prototypes -Wstrict-prototypes"

STAGE := $(abspath $(BUILD))/stage
check-install: | $(CB)
	@rm -rf $(STAGE)
	@$(MAKE) --no-print-directory install DESTDIR=$(STAGE) PREFIX=/usr >/dev/null
	@test -f $(STAGE)/usr/include/churn.h && test -f $(STAGE)/usr/lib/pkgconfig/churn.pc
	@cmp -s churn.h $(STAGE)/usr/include/churn.h
	@echo "  ok     installed $(STAGE)/usr/include/churn.h and $(STAGE)/usr/lib/pkgconfig/churn.pc"
	@if $(call have,$(PKG_CONFIG)); then \
	  flags=$$(PKG_CONFIG_LIBDIR=$(STAGE)/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$(STAGE) \
	           $(PKG_CONFIG) --cflags --libs churn) || exit 1; \
	  ver=$$(PKG_CONFIG_LIBDIR=$(STAGE)/usr/lib/pkgconfig $(PKG_CONFIG) --modversion churn); \
	  [ "$$ver" = "$(VERSION)" ] || { echo "  FAIL   pkg-config version $$ver != $(VERSION)"; exit 1; }; \
	  echo "  build  $(TC)/installed.c with: $$flags"; \
	  $(GCC) -std=c99 $(WARN) $(TC)/installed.c -o $(CB)/installed $$flags && $(CB)/installed || exit 1; \
	  echo "  ok     pkg-config build runs (version $$ver)"; fi
	@rm -rf $(STAGE)

CMAKE_BUILD := $(BUILD)/cmake_consumer
check-cmake:
	@if $(call have,$(CMAKE)); then \
	  set -e; \
	  echo "  cmake  add_subdirectory -> $(CMAKE_BUILD)"; \
	  $(CMAKE) -S tests/cmake_consumer -B $(CMAKE_BUILD) -DCHURN_CONSUMER_MODE=subdir >$(CMAKE_BUILD).log 2>&1 \
	    || { cat $(CMAKE_BUILD).log; exit 1; }; \
	  $(CMAKE) --build $(CMAKE_BUILD) >>$(CMAKE_BUILD).log 2>&1 || { cat $(CMAKE_BUILD).log; exit 1; }; \
	  $(CMAKE_BUILD)/churn_consumer; \
	  echo "  cmake  FetchContent(SOURCE_DIR) -> $(CMAKE_BUILD)-fetch"; \
	  $(CMAKE) -S tests/cmake_consumer -B $(CMAKE_BUILD)-fetch -DCHURN_CONSUMER_MODE=fetch >$(CMAKE_BUILD)-fetch.log 2>&1 \
	    || { cat $(CMAKE_BUILD)-fetch.log; exit 1; }; \
	  $(CMAKE) --build $(CMAKE_BUILD)-fetch >>$(CMAKE_BUILD)-fetch.log 2>&1 || { cat $(CMAKE_BUILD)-fetch.log; exit 1; }; \
	  $(CMAKE_BUILD)-fetch/churn_consumer; \
	  echo "  cmake  install of the top-level project, then find_package(churn) -> $(CMAKE_BUILD)-package"; \
	  rm -rf $(BUILD)/cmake-top $(BUILD)/cmake-prefix; \
	  { $(CMAKE) -S . -B $(BUILD)/cmake-top -DCMAKE_INSTALL_PREFIX=$(abspath $(BUILD))/cmake-prefix && \
	    $(CMAKE) --build $(BUILD)/cmake-top && $(CMAKE) --install $(BUILD)/cmake-top; } >$(BUILD)/cmake-top.log 2>&1 \
	    || { cat $(BUILD)/cmake-top.log; exit 1; }; \
	  test -f $(BUILD)/cmake-prefix/include/churn.h; \
	  $(CMAKE) -S tests/cmake_consumer -B $(CMAKE_BUILD)-package -DCHURN_CONSUMER_MODE=package \
	    -DCMAKE_PREFIX_PATH=$(abspath $(BUILD))/cmake-prefix >$(CMAKE_BUILD)-package.log 2>&1 \
	    || { cat $(CMAKE_BUILD)-package.log; exit 1; }; \
	  $(CMAKE) --build $(CMAKE_BUILD)-package >>$(CMAKE_BUILD)-package.log 2>&1 || { cat $(CMAKE_BUILD)-package.log; exit 1; }; \
	  $(CMAKE_BUILD)-package/churn_consumer; \
	fi

# Suppressed, with reasons:
#   readdirCalled  cppcheck recommends readdir_r, which glibc deprecates: readdir on a DIR the
#                  caller owns is thread-safe (POSIX 2008 TC2, glibc, musl)
CPPCHECK_FLAGS := --error-exitcode=1 --enable=warning,performance,portability --inline-suppr \
                  --std=c99 --library=posix --platform=unix64 -D__linux__ -D__GNUC__ -D__x86_64__ \
                  -DCHURN_IMPLEMENTATION -D_GNU_SOURCE -I. --suppress=missingIncludeSystem \
                  --suppress=readdirCalled --quiet

CPPCHECK_WIN_FLAGS := $(filter-out --library=posix --platform=unix64 -D__linux__ -D__GNUC__ -D__x86_64__ -D_GNU_SOURCE,$(CPPCHECK_FLAGS)) \
                  --library=windows --platform=win64 -D_WIN32 -D_WIN64 -D__MINGW32__
CPPCHECK_MAC_FLAGS := $(filter-out -D__linux__ -D_GNU_SOURCE,$(CPPCHECK_FLAGS)) -D__APPLE__ -D__MACH__
check-cppcheck:
	@if $(call have,$(CPPCHECK)); then \
	  echo "  $(CPPCHECK) $(CPPCHECK_FLAGS) tests/churn_impl.c"; \
	  $(CPPCHECK) $(CPPCHECK_FLAGS) tests/churn_impl.c || exit 1; \
	  echo "  ... and with -DCHURN_NO_NET -DCHURN_NO_STDIO"; \
	  $(CPPCHECK) $(CPPCHECK_FLAGS) -DCHURN_NO_NET -DCHURN_NO_STDIO tests/churn_impl.c || exit 1; \
	  echo "  ... and the Windows sections (--platform=win64 -D_WIN32)"; \
	  $(CPPCHECK) $(CPPCHECK_WIN_FLAGS) tests/churn_impl.c || exit 1; \
	  echo "  ... and the macOS sections (-D__APPLE__ -D__MACH__)"; \
	  $(CPPCHECK) $(CPPCHECK_MAC_FLAGS) tests/churn_impl.c || exit 1; \
	  echo "  ok     cppcheck clean"; fi

# The implementation lives in a header, and the analyzer skips functions defined in headers
# unless -analyzer-opt-analyze-headers is given (without it this stage checks nothing).
ANALYZE_FLAGS := --analyze -Xanalyzer -analyzer-werror -Xanalyzer -analyzer-opt-analyze-headers \
                 -Xanalyzer -analyzer-output=text -std=c99 -D_GNU_SOURCE -I. -Wall -Wextra
check-analyze: | $(CB)
	@if $(call have,$(CLANG)); then \
	  echo "  $(CLANG) $(ANALYZE_FLAGS) tests/churn_impl.c"; \
	  $(CLANG) $(ANALYZE_FLAGS) tests/churn_impl.c -o $(CB)/analyze.plist || exit 1; \
	  echo "  ok     clang static analyzer clean"; fi

# Sanitizer trees are separate BUILD directories built by this same Makefile.
check-asan-gcc check-asan-clang: check-asan-%:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan-$* CC=$(if $(filter gcc,$*),$(GCC),$(CLANG)) \
	    OPT="$(SAN_OPT)" SAN="$(SAN_ASAN)" tests
	@ASAN_OPTIONS="$(ASAN_RUN_OPTIONS)" UBSAN_OPTIONS="$(UBSAN_RUN_OPTIONS)" CHURN_TEST_TOOL=asan \
	    bash tests/run.sh --no-scripts --bin-dir $(BUILD)/asan-$*/tests

check-valgrind: tests
	@if [ -z "$(VALGRIND_PRESENT)" ]; then echo "SKIP: none of VALGRIND_TESTS ($(VALGRIND_TESTS)) exists yet"; \
	 elif $(call have,$(VALGRIND)); then \
	  CHURN_TEST_TOOL=valgrind CHURN_TEST_TIMEOUT=$${CHURN_TEST_TIMEOUT:-600} \
	    bash tests/run.sh --no-scripts --bin-dir $(BUILD)/tests --fd-check --wrap "$(VALGRIND) $(VALGRIND_FLAGS)" $(VALGRIND_PRESENT); fi

check-tsan:
	@if [ -z "$(TSAN_PRESENT)" ]; then echo "SKIP: none of TSAN_TESTS ($(TSAN_TESTS)) exists yet"; \
	 elif $(call have,$(CLANG)); then \
	  $(MAKE) --no-print-directory BUILD=$(BUILD)/tsan CC=$(CLANG) OPT="$(SAN_OPT)" SAN="$(SAN_TSAN)" \
	    $(addprefix $(BUILD)/tsan/tests/,$(TSAN_PRESENT)) || exit 1; \
	  TSAN_OPTIONS="$(TSAN_RUN_OPTIONS)" CHURN_TEST_TOOL=tsan \
	    bash tests/run.sh --no-scripts --bin-dir $(BUILD)/tsan/tests $(TSAN_PRESENT); fi

FUZZ_DIR := $(BUILD)/fuzz
check-fuzz:
	@if [ ! -f fuzz/fuzz_json.c ]; then echo "SKIP: fuzz/fuzz_json.c does not exist (yet)"; \
	 elif $(call have,$(CLANG)); then \
	  set -e; mkdir -p $(FUZZ_DIR)/corpus; \
	  if grep -q 'CHURN_IMPLEMENTATION' fuzz/fuzz_json.c; then \
	    $(CLANG) -std=c99 $(WARN) -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -I. \
	      fuzz/fuzz_json.c -o $(FUZZ_DIR)/fuzz_json -lm; \
	  else \
	    $(CLANG) -std=c99 $(WARN) -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer-no-link,address,undefined -I. \
	      -c tests/churn_impl.c -o $(FUZZ_DIR)/churn_impl.o; \
	    $(CLANG) -std=c99 $(WARN) -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -I. \
	      fuzz/fuzz_json.c $(FUZZ_DIR)/churn_impl.o -o $(FUZZ_DIR)/fuzz_json -lm; \
	  fi; \
	  seeds=""; [ -d fuzz/corpus ] && seeds=fuzz/corpus; \
	  echo "  run    $(FUZZ_DIR)/fuzz_json -max_total_time=$(FUZZ_SECONDS) $(FUZZ_DIR)/corpus $$seeds"; \
	  ASAN_OPTIONS="$(ASAN_RUN_OPTIONS)" UBSAN_OPTIONS="$(UBSAN_RUN_OPTIONS)" \
	    $(FUZZ_DIR)/fuzz_json -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	      -artifact_prefix=$(FUZZ_DIR)/ -print_final_stats=1 $(FUZZ_DIR)/corpus $$seeds 2>&1 | tail -n 40; \
	  test "$${PIPESTATUS[0]}" -eq 0; \
	  echo "  ok     fuzzing found nothing in $(FUZZ_SECONDS) s"; fi

# ---- platform ports: mk/*.mk (mk/windows.mk: test-windows, mk/macos.mk: check-macos) ------
# Each port's rules live in its own fragment; a target without its fragment is a placeholder.
-include $(sort $(wildcard mk/*.mk))

ifeq ($(wildcard mk/windows.mk),)
test-windows:
	@echo "make test-windows: not yet implemented"; exit 1
endif

ifeq ($(wildcard mk/macos.mk),)
check-macos:
	@echo "make check-macos: not yet implemented"; exit 1
endif
