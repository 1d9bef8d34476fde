# libstatelessllm — plain GNU Makefile. `make help` lists the targets.
# Sources are found by wildcard, so adding a file to lib/<concern>/ needs no edit here.

VERSION_MAJOR := 0
VERSION_MINOR := 1
VERSION_PATCH := 0
VERSION       := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)

PREFIX  ?= /usr/local
DESTDIR ?=
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
BINDIR  ?= $(PREFIX)/bin
PCDIR   ?= $(LIBDIR)/pkgconfig

CC      ?= cc
BUILD   ?= build
CUDA    ?= auto
PYTHON  ?= /usr/bin/python3
MODELS_DIR ?= models
SMOLLM  := $(MODELS_DIR)/SmolLM2-135M-Instruct.Q4_1.gguf

OPT     ?= -O2
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS_BASE := -std=c11 $(OPT) -g $(WARN) -fPIC -fvisibility=hidden -D_GNU_SOURCE \
               -Iinclude -Ilib $(shell pkg-config --cflags jansson libsodium 2>/dev/null)
LIBS    := $(shell pkg-config --libs jansson libsodium 2>/dev/null || echo -ljansson -lsodium) -lpthread -lm
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt) 

SANITIZE ?=
ifneq ($(SANITIZE),)
  CFLAGS_BASE += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDFLAGS += -fsanitize=$(SANITIZE)
endif
CFLAGS_ALL := $(CFLAGS_BASE) $(CFLAGS)

# --- CUDA detection --------------------------------------------------------
NVCC := $(shell command -v nvcc 2>/dev/null)
ifeq ($(CUDA),auto)
  ifneq ($(NVCC),)
    WITH_CUDA := 1
  else
    WITH_CUDA := 0
  endif
else
  WITH_CUDA := $(CUDA)
endif

LIB_SRCS  := $(sort $(wildcard lib/*.c lib/*/*.c lib/*/*/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CUDA_SRCS := $(sort $(wildcard cuda/*.cu))
ifeq ($(WITH_CUDA),1)
  CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
  LIB_OBJS  += $(CUDA_SRCS:%.cu=$(BUILD)/obj/%.o)
  CFLAGS_ALL += -DSLLM_WITH_CUDA=1
  CUDA_LIBS := -L$(CUDA_HOME)/lib64 -lcudart
  LIBS      += $(CUDA_LIBS)
endif

CLI_SRCS  := $(sort $(wildcard tools/sllm/*.c))
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
EXAMPLE_SRCS := $(sort $(wildcard examples/*.c))
EXAMPLES  := $(EXAMPLE_SRCS:examples/%.c=$(BUILD)/examples/%)
TEST_SRCS := $(sort $(wildcard tests/test_*.c))
TESTS     := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
TEST_TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
TEST_TOOLS := $(TEST_TOOL_SRCS:tests/tools/%.c=$(BUILD)/tests/tools/%)
TEST_SUPPORT_SRCS := $(sort $(wildcard tests/support/*.c))
TEST_SUPPORT_OBJS := $(TEST_SUPPORT_SRCS:%.c=$(BUILD)/obj/%.o)

SONAME    := libstatelessllm.so.$(VERSION_MAJOR)
SHARED    := $(BUILD)/lib/libstatelessllm.so.$(VERSION)
STATIC    := $(BUILD)/lib/libstatelessllm.a
CLI       := $(BUILD)/bin/sllm

# Test-support objects are only prerequisites of pattern rules; keep make from deleting them
# as intermediates (a parallel build would then race on rebuilding them).
.SECONDARY: $(TEST_SUPPORT_OBJS)

.PHONY: all lib cli examples check check-asan check-tsan check-c check-python bench fuzz install uninstall \
        deps models demo clean help
.DELETE_ON_ERROR:

all: lib cli examples

lib: $(SHARED) $(STATIC) $(BUILD)/lib/libstatelessllm.so

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/obj/cuda/%.o: cuda/%.cu
	@mkdir -p $(@D)
	$(NVCC) -O2 -Xcompiler -fPIC,-fvisibility=hidden -Iinclude -Ilib -c $< -o $@

$(SHARED): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,$(SONAME) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/lib/libstatelessllm.so: $(SHARED)
	ln -sf libstatelessllm.so.$(VERSION) $(BUILD)/lib/$(SONAME)
	ln -sf $(SONAME) $@

$(STATIC): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

cli: $(CLI)
$(CLI): $(CLI_OBJS) $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(STATIC) $(LIBS)

examples: $(EXAMPLES)
$(BUILD)/examples/%: examples/%.c $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(STATIC) $(LDFLAGS) $(LIBS)

# Tests link the static library so they can reach internal (hidden) symbols.
$(BUILD)/tests/%: tests/%.c $(STATIC) $(TEST_SUPPORT_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -Itests -Itests/support -MMD -MP -o $@ $< $(TEST_SUPPORT_OBJS) $(STATIC) $(LDFLAGS) $(CHECK_LIBS) $(LIBS)

# Test tools (model generators, dumpers used by the Python reference tests).
$(BUILD)/tests/tools/%: tests/tools/%.c $(STATIC) $(TEST_SUPPORT_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -Itests -Itests/support -MMD -MP -o $@ $< $(TEST_SUPPORT_OBJS) $(STATIC) $(LDFLAGS) $(CHECK_LIBS) $(LIBS)

.PHONY: test-tools
test-tools: $(TEST_TOOLS)

# --- tests -----------------------------------------------------------------
# The C suites first, then Python (which also runs `make install` into a temp DESTDIR):
# sequential so the two never build the same files at once and the output stays readable.
check:
	$(MAKE) --no-print-directory check-c
	$(MAKE) --no-print-directory check-python

check-c: all $(TESTS) $(TEST_TOOLS)
	@BUILD=$(BUILD) SLLM_MODELS_DIR=$(MODELS_DIR) tests/run_c_tests.sh $(TESTS)

check-python: all $(TEST_TOOLS)
	@BUILD=$(BUILD) SLLM_MODELS_DIR=$(MODELS_DIR) tests/run_python_tests.sh $(PYTHON)

# CK_FORK=no: every test runs in the suite's own process, so LeakSanitizer sees its leaks.
check-asan:
	CK_FORK=no SLLM_SANITIZED=1 $(MAKE) BUILD=build-asan SANITIZE=address,undefined OPT=-O1 CUDA=0 check-c

# ThreadSanitizer over the same suites (the thread pool, the batcher, concurrent generate
# calls, cancellation from another thread); halt_on_error turns a report into a failure.
check-tsan:
	CK_FORK=no TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	  $(MAKE) BUILD=build-tsan SANITIZE=thread OPT=-O1 CUDA=0 check-c

# --- benchmarks and fuzzing ------------------------------------------------
bench: all test-tools
	@BUILD=$(BUILD) SLLM_MODELS_DIR=$(MODELS_DIR) tests/bench/run_bench.sh

FUZZ_TIME ?= 60
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZERS   := $(FUZZ_SRCS:tests/fuzz/%.c=build-fuzz/%)
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang SANITIZE=address,undefined OPT=-O1 CUDA=0 \
	  CFLAGS=-fsanitize=fuzzer-no-link fuzzers
	@for f in $(FUZZERS); do \
	  name=$$(basename $$f); mkdir -p build-fuzz/corpus/$$name; \
	  echo "== $$name for $(FUZZ_TIME)s"; \
	  $$f -max_total_time=$(FUZZ_TIME) -print_final_stats=1 build-fuzz/corpus/$$name tests/fuzz/corpus/$$name || exit 1; \
	done

.PHONY: fuzzers
fuzzers: $(FUZZERS)
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(STATIC)
	$(CC) $(CFLAGS_ALL) -fsanitize=fuzzer -o $@ $< $(STATIC) $(LDFLAGS) $(LIBS)

# --- install -----------------------------------------------------------------
$(BUILD)/statelessllm.pc: pkgconfig/statelessllm.pc.in Makefile
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCDIR@|$(INCDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g' -e 's|@CUDA_LIBS@|$(CUDA_LIBS)|g' $< > $@

install: all $(BUILD)/statelessllm.pc
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(PCDIR)
	install -m 644 include/statelessllm.h include/statelessllm_backend.h $(DESTDIR)$(INCDIR)/
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/
	ln -sf libstatelessllm.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libstatelessllm.so
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(CLI) $(DESTDIR)$(BINDIR)/
	install -m 644 $(BUILD)/statelessllm.pc $(DESTDIR)$(PCDIR)/

uninstall:
	rm -f $(DESTDIR)$(INCDIR)/statelessllm.h $(DESTDIR)$(INCDIR)/statelessllm_backend.h
	rm -f $(DESTDIR)$(LIBDIR)/libstatelessllm.so* $(DESTDIR)$(LIBDIR)/libstatelessllm.a
	rm -f $(DESTDIR)$(BINDIR)/sllm $(DESTDIR)$(PCDIR)/statelessllm.pc

# --- dependencies, model, demo ------------------------------------------------
DEB_PACKAGES := build-essential pkg-config libjansson-dev libsodium-dev check clang \
                python3 python3-numpy python3-pytest python3-pip unicode-data
deps:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(DEB_PACKAGES)
	$(MAKE) models

models: $(SMOLLM)
$(SMOLLM):
	tools/fetch_model.sh $(MODELS_DIR)

demo: all $(SMOLLM)
	$(CLI) chat -m $(SMOLLM) --replay examples/replay/demo.json

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz

help:
	@echo "targets: all check check-asan check-tsan bench fuzz install uninstall deps models demo clean"
	@echo "vars: CUDA=auto|0|1 PREFIX DESTDIR CC SANITIZE FUZZ_TIME"

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(wildcard $(BUILD)/tests/*.d $(BUILD)/tests/tools/*.d)
