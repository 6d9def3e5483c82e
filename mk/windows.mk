# mk/windows.mk - the Windows port, cross-compiled with mingw-w64 and run under wine.
#
#   make test-windows   check the Windows socket shim names, build the Windows compile matrix (C99, C11,
#                       CHURN_NO_NET, CHURN_NO_STDIO, CHURN_STATIC, C99 and C++11 with
#                       <windows.h> included first), build tests/windows/test_windows.exe and run everything under
#                       wine, headless; the test exit codes gate.
#
# Debian: apt-get install gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 wine wine64

WIN_CC      ?= x86_64-w64-mingw32-gcc
WIN_CXX     ?= x86_64-w64-mingw32-g++
WINE        ?= wine
WINESERVER  ?= wineserver
WIN_BUILD   := $(BUILD)/win
WIN_HEADER  ?= churn.h
WIN_WARN    := -Wall -Wextra -Wpedantic -Werror
WIN_LIBS    := -lws2_32
WIN_PREFIX  := $(abspath $(WIN_BUILD))/wineprefix
WIN_INC     := -I$(dir $(WIN_HEADER))
# wine: private prefix, no debug chatter, no crash dialog/debugger (a crash exits non-zero)
WINE_ENV    := WINEPREFIX=$(WIN_PREFIX) WINEDEBUG=-all WINEDLLOVERRIDES="winedbg.exe=d;mscoree=d;mshtml=d" DISPLAY=
WIN_TIMEOUT ?= 180

.PHONY: test-windows win-compile win-tests win-shim-check
$(WIN_BUILD):
	@mkdir -p $@

WIN_EXES :=
# WIN_MATRIX(name, compiler + flags, source)
define WIN_MATRIX
$(WIN_BUILD)/$(1).exe: $(3) $(WIN_HEADER) tests/compile/smoke.h | $(WIN_BUILD)
	@$(2) $(WIN_WARN) $(WIN_INC) $(3) -o $$@ $(WIN_LIBS)
	@echo "  build  $(1): $(2)"
WIN_EXES += $(WIN_BUILD)/$(1).exe
endef
$(eval $(call WIN_MATRIX,c99,$(WIN_CC) -std=c99,tests/windows/compile_c.c))
$(eval $(call WIN_MATRIX,c11-O2,$(WIN_CC) -std=c11 -O2,tests/windows/compile_c.c))
$(eval $(call WIN_MATRIX,c99-no-net,$(WIN_CC) -std=c99 -O2 -DCHURN_NO_NET,tests/windows/compile_c.c))
$(eval $(call WIN_MATRIX,c99-no-stdio,$(WIN_CC) -std=c99 -DCHURN_NO_STDIO,tests/windows/compile_c.c))
$(eval $(call WIN_MATRIX,c99-static,$(WIN_CC) -std=c99 -O2 -DCHURN_STATIC,tests/windows/compile_c.c))
$(eval $(call WIN_MATRIX,c99-windows-h-first,$(WIN_CC) -std=c99 -include windows.h -include stdio.h,tests/windows/compile_c.c))
$(eval $(call WIN_MATRIX,cxx11,$(WIN_CXX) -std=c++11 -O2,tests/windows/compile_cxx.cpp))

$(WIN_BUILD)/churn_impl_win.o: tests/windows/churn_impl_win.c $(WIN_HEADER) | $(WIN_BUILD)
	@$(WIN_CC) -std=c99 -O1 -g $(WIN_WARN) $(WIN_INC) -c $< -o $@
$(WIN_BUILD)/test_windows.exe: tests/windows/test_windows.c tests/churn_test.h $(WIN_BUILD)/churn_impl_win.o $(WIN_HEADER)
	@$(WIN_CC) -std=c99 -O1 -g $(WIN_WARN) $(WIN_INC) $< $(WIN_BUILD)/churn_impl_win.o -o $@ $(WIN_LIBS)
	@echo "  build  $@"

# Every name the POSIX socket shim defines (churn__*/CHURN__* functions, types, macros)
# must be defined by wip/windows/socket_shim.inc too: catches a new shim name early.
win-shim-check:
	@names=$$(awk '/^\/\* ---- socket shim/{on=1} /^#if defined\(CHURN__WINDOWS\)/{on=0} on' churn.h | \
	   grep -oE '^(typedef [^;]* (churn__[a-z_]+);|#define (CHURN__[A-Z_]+)|CHURN__PRIV [a-z_ *]+(churn__[a-z_]+)\()' | \
	   grep -oE '(churn__|CHURN__)[A-Za-z_]+' | grep -v '^CHURN__PRIV$$' | sort -u); \
	 missing=""; for n in $$names; do awk '/>>socket shim windows/{on=1} /<<socket shim windows/{on=0} on' churn.h | grep -q "$$n" || missing="$$missing $$n"; done; \
	 if [ -n "$$missing" ]; then echo "  FAIL   the Windows socket shim in churn.h lacks:$$missing"; exit 1; fi; \
	 echo "  ok     socket shim: $$(echo $$names | wc -w) names, all defined for Windows"

# clang's warnings too, when clang is installed: syntax-only against the mingw-w64 headers.
WIN_CLANG ?= clang
$(WIN_BUILD)/clang.ok: tests/windows/compile_c.c tests/windows/compile_cxx.cpp $(WIN_HEADER) | $(WIN_BUILD)
	@if command -v $(WIN_CLANG) >/dev/null; then \
	  $(WIN_CLANG) --target=x86_64-w64-mingw32 -x c -std=c11 -fsyntax-only $(WIN_WARN) $(WIN_INC) tests/windows/compile_c.c && \
	  $(WIN_CLANG) --target=x86_64-w64-mingw32 -x c++ -std=c++17 -fsyntax-only $(WIN_WARN) $(WIN_INC) tests/windows/compile_cxx.cpp && \
	  echo "  ok     clang --target=x86_64-w64-mingw32: C11 and C++17 syntax-only clean"; \
	else echo "  SKIP   clang not installed (syntax-only Windows check)"; fi
	@touch $@

win-compile: $(WIN_EXES) $(WIN_BUILD)/clang.ok
win-tests: $(WIN_BUILD)/test_windows.exe

# Runs every exe under one wine server: started detached first, killed at the end (a piped
# run with a live server can hang); output comes with CRLF.
test-windows: win-shim-check win-compile win-tests
	@command -v $(WINE) >/dev/null || { echo "error: $(WINE) not found (apt-get install wine wine64)" >&2; exit 1; }
	@mkdir -p $(WIN_PREFIX)
	@$(WINE_ENV) $(WINE) cmd /c exit </dev/null >/dev/null 2>&1 || true
	@status=0; \
	 for x in $(WIN_EXES); do \
	   if $(WINE_ENV) timeout 60 $(WINE) $$x </dev/null >$$x.log 2>&1; then echo "  ran    $$(basename $$x) under wine"; \
	   else s=$$?; echo "  FAIL   $$(basename $$x): exited with status $$s"; tr -d '\r' < $$x.log | tail -5; status=1; fi; \
	 done; \
	 $(WINE_ENV) timeout $(WIN_TIMEOUT) $(WINE) $(WIN_BUILD)/test_windows.exe </dev/null 2>$(WIN_BUILD)/test_windows.err \
	   | tr -d '\r' | tee $(WIN_BUILD)/test_windows.log; \
	 s=$${PIPESTATUS[0]}; \
	 if [ $$s -ne 0 ]; then echo "  FAIL   test_windows.exe: exited with status $$s"; tail -5 $(WIN_BUILD)/test_windows.err; status=1; fi; \
	 $(WINE_ENV) $(WINESERVER) -k >/dev/null 2>&1 || true; \
	 exit $$status
