# libseqgen: GNU make build. `make help` lists the targets.

# ---- What you may set -------------------------------------------------------------------------
CC         ?= cc
CFLAGS     ?= -O2 -g
CPPFLAGS   ?=
LDFLAGS    ?=
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share#  the bundled digits go to $(DATADIR)/seqgen/mnist10k
DOCDIR     ?= $(PREFIX)/share/doc/seqgen
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR    ?=
WERROR     ?= 0#          1: warnings are errors (CI)
NATIVE     ?= 0#          1: tune for this machine's CPU (-march=native)
BUILD      ?= build#      objects, tests, programs and docs go here
LIBOUT     ?= lib#        the libraries go here
TEST_WRAPPER ?=#          e.g. valgrind: every test binary runs under it
FUZZ_SECONDS ?= 60
MPI        ?= 0#          1: build and install seqgen-train-mpi too (needs Open MPI: mpicc)
MPICC      ?= mpicc

# CBLAS: found through pkg-config (openblas, else cblas, else blas); override BLAS_CFLAGS/BLAS_LIBS.
BLAS_PC    := $(firstword $(foreach p,openblas cblas blas,$(shell pkg-config --exists $(p) && echo $(p))))
BLAS_CFLAGS ?= $(if $(BLAS_PC),$(shell pkg-config --cflags $(BLAS_PC)))
BLAS_LIBS   ?= $(if $(BLAS_PC),$(shell pkg-config --libs $(BLAS_PC)),-lcblas)
ZLIB_CFLAGS ?= $(shell pkg-config --cflags zlib 2>/dev/null)
ZLIB_LIBS   ?= $(or $(shell pkg-config --libs zlib 2>/dev/null),-lz)
GIF_LIBS    ?= -lgif#      the programs draw GIFs (examples/gif.c); the library does not
CMOCKA_LIBS ?= $(or $(shell pkg-config --libs cmocka 2>/dev/null),-lcmocka)
# jansson: the JSON parser of libseqgen-safetensors only; the core library does not link it.
JANSSON_CFLAGS ?= $(shell pkg-config --cflags jansson 2>/dev/null)
JANSSON_LIBS   ?= $(or $(shell pkg-config --libs jansson 2>/dev/null),-ljansson)
OBJCOPY    ?= objcopy

# ---- Derived ----------------------------------------------------------------------------------
VERSION_PART = $(shell sed -n 's/^\#define SEQGEN_VERSION_$(1) \([0-9]*\).*/\1/p' include/seqgen.h)
MAJOR   := $(call VERSION_PART,MAJOR)
MINOR   := $(call VERSION_PART,MINOR)
PATCH   := $(call VERSION_PART,PATCH)
VERSION := $(MAJOR).$(MINOR).$(PATCH)

STATIC_LIB := $(LIBOUT)/libseqgen.a
EXPORTS    := src/seqgen.map#  linker version script: only seqgen_* leave the shared library
# The SONAME names the ABI. While MAJOR is 0, every minor release may break the ABI, so it is
# libseqgen.so.0.MINOR (0.2.0 -> libseqgen.so.0.2); from 1.0 on, libseqgen.so.MAJOR.
SONAME     := libseqgen.so.$(if $(filter 0,$(MAJOR)),0.$(MINOR),$(MAJOR))
SHARED_LIB := $(LIBOUT)/libseqgen.so.$(VERSION)

LIB_SRC   := $(wildcard src/*.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
# libseqgen-safetensors (include/seqgen_safetensors.h): an optional library beside the core, so
# that the core needs no JSON parser. Its sources, and the two core helpers it compiles in (the
# opening of a regular file, the atomic writer: hidden, like every internal function).
ST_STATIC_LIB := $(LIBOUT)/libseqgen-safetensors.a
ST_SONAME     := libseqgen-safetensors.so.$(if $(filter 0,$(MAJOR)),0.$(MINOR),$(MAJOR))
ST_SHARED_LIB := $(LIBOUT)/libseqgen-safetensors.so.$(VERSION)
ST_SRC        := $(wildcard src/safetensors/*.c)
ST_OBJ        := $(ST_SRC:%.c=$(BUILD)/%.o) $(BUILD)/src/regular_file.o $(BUILD)/src/atomic_file.o
ST_LIBS       := $(JANSSON_LIBS) -lm
PROG_SRC  := $(wildcard examples/seqgen-*.c)
PROGS     := $(PROG_SRC:examples/%.c=$(BUILD)/bin/%)
MPI_PROG  := $(BUILD)/bin/seqgen-train-mpi#  seqgen-train linked with examples/comm_mpi.c
PROGS     += $(if $(filter 1,$(MPI)),$(MPI_PROG))
CLI_OBJ   := $(BUILD)/examples/cli.o#  the programs' shared code: file writers, lock, data
# The programs' default data (after $SEQGEN_DATA and ./data/mnist10k): the bundled digits where
# install puts them. The path is compiled into $(CLI_OBJ); $(DATADIR_STAMP) holds the last one,
# so that a new PREFIX or DATADIR rebuilds it (`make && make install PREFIX=...` works).
SEQGEN_DATADIR := $(DATADIR)/seqgen
DATADIR_STAMP  := $(BUILD)/examples/datadir
DATA_FILES     := $(wildcard data/mnist10k/*.gz)
GIF_OBJ   := $(BUILD)/examples/gif.o#  the GIF pictures of seqgen-complete (and test_gif)
TEST_SRC  := $(wildcard tests/test_*.c)
TESTS     := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_UTIL := $(BUILD)/tests/testutil.o

WARN      := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes $(if $(filter 1,$(WERROR)),-Werror)
BASEFLAGS := -std=c11 $(WARN) -fno-fast-math -fPIC -pthread $(if $(filter 1,$(NATIVE)),-march=native)
INCLUDES  := -Iinclude -Isrc $(BLAS_CFLAGS) $(ZLIB_CFLAGS)
DEFINES   := -D_POSIX_C_SOURCE=200809L -DSEQGEN_BUILDING
LIB_LIBS  := $(BLAS_LIBS) $(ZLIB_LIBS) -lm -pthread

.PHONY: FORCE all install uninstall clean check check-asan check-valgrind docs demo deps help \
        install-test unit-tests refcheck bench bench-compare fuzz check-tsan experiments \
        check-portable bench-versus fuzz-replay check-mpi pytorch-interop bench-words \
        bench-heads
.DEFAULT_GOAL := all

all: $(STATIC_LIB) $(SHARED_LIB) $(ST_STATIC_LIB) $(ST_SHARED_LIB) $(PROGS)

help:
	@echo "Targets:"
	@echo "  all            build $(STATIC_LIB), $(SHARED_LIB), libseqgen-safetensors (.a, .so)"
	@echo "                 and the example programs"
	@echo "  deps           install the Debian packages the build and tests need (as root)"
	@echo "  check          install missing packages, build (the benchmarks too), run every test suite,"
	@echo "                 the programs' test, the exports test and the install test"
	@echo "  refcheck       compare the model with PyTorch reference files (FIXTURES=\"a.txt b.txt\")"
	@echo "  check-asan     the test suites under AddressSanitizer and UBSan"
	@echo "  check-valgrind the test suites under valgrind memcheck"
	@echo "  check-tsan     the thread tests under ThreadSanitizer"
	@echo "  check-portable the test suites with the portable kernels only (no AVX2 paths)"
	@echo "  check-mpi      install Open MPI, build seqgen-train-mpi, run it against seqgen-train"
	@echo "  fuzz-replay    the fuzz harnesses built with CC, run over their committed corpora"
	@echo "  fuzz           build the libFuzzer harnesses (clang) and run each FUZZ_SECONDS seconds"
	@echo "  bench          throughput and sgemm-ceiling benchmark (BENCH_ARGS=\"--threads 1\")"
	@echo "  bench-versus   the benchmark of git revision REV and of this tree, alternately (RUNS=3)"
	@echo "  bench-compare  the benchmark and the same task in PyTorch (python3-torch), with ratios"
	@echo "  bench-words    libseqgen and PyTorch trained on the word list, alternately (WORDS_ARGS)"
	@echo "  bench-heads    issue 17: the MADE head's share of training time at H 512, D 28, and"
	@echo "                 PyTorch on the same model, alternately (HEADS_RUNS=5, HEADS_ARGS)"
	@echo "  pytorch-interop a libseqgen model saved as safetensors, loaded and run by PyTorch"
	@echo "                 (python3-torch), and the committed PyTorch fixture made again"
	@echo "  docs           HTML API docs into $(BUILD)/docs (Doxygen, warnings are errors)"
	@echo "  demo           install missing packages, build, train on the bundled digits, complete digits"
	@echo "  experiments    the study of docs/results.md: train and evaluate every configuration (~3.5 h)"
	@echo "  install        install header, libraries, pkg-config file, programs, the bundled digits"
	@echo "                 and, if make docs built it, the HTML reference (PREFIX, DESTDIR)"
	@echo "  uninstall      remove exactly what install installed"
	@echo "  clean          remove build outputs"
	@echo "Variables: CC CFLAGS CPPFLAGS LDFLAGS PREFIX DESTDIR LIBDIR INCLUDEDIR BINDIR DATADIR DOCDIR"
	@echo "           WERROR=1 NATIVE=1 BLAS_CFLAGS BLAS_LIBS TEST_WRAPPER MPI=1 MPICC"

# ---- Library ----------------------------------------------------------------------------------
$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) -fvisibility=hidden $(INCLUDES) $(DEFINES) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

# The GRU's activation loops (kernels.h's lanes, in src/gru.c) vectorise only if comparisons may
# not trap: GCC then turns their clamps into vector min/max. Unlike the fast-math flags, this
# keeps NaN and Inf semantics.
$(BUILD)/src/kernels.o $(BUILD)/src/gru.o: BASEFLAGS += -fno-trapping-math
# The optimiser's loops (src/optim.c) likewise, and sqrtf becomes the vector instruction only if
# it need not set errno (it never does for the moments, which are >= 0).
$(BUILD)/src/optim.o: BASEFLAGS += -fno-trapping-math -fno-math-errno

$(STATIC_LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

# The shared library exports the seqgen_* functions only (tests/exports_test.sh checks it).
$(SHARED_LIB): $(LIB_OBJ) $(EXPORTS)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=$(EXPORTS) $(LDFLAGS) $(CFLAGS) \
	    -o $@ $(LIB_OBJ) $(LIB_LIBS)
	ln -sf libseqgen.so.$(VERSION) $(LIBOUT)/$(SONAME)
	ln -sf $(SONAME) $(LIBOUT)/libseqgen.so

# ---- libseqgen-safetensors --------------------------------------------------------------------
$(BUILD)/src/safetensors/%.o: INCLUDES += $(JANSSON_CFLAGS)

# The archive holds one object, linked from the library's objects with every hidden symbol made
# local: its copies of the core's helpers (sg_open_regular, sg_write_file_atomic) and its bridge
# to the public error detail (support.c) cannot clash with libseqgen.a's when both are linked.
$(ST_STATIC_LIB): $(ST_OBJ)
	@mkdir -p $(@D) $(BUILD)/safetensors
	$(LD) -r -o $(BUILD)/safetensors/seqgen-safetensors.o $(ST_OBJ)
	$(OBJCOPY) --localize-hidden $(BUILD)/safetensors/seqgen-safetensors.o
	rm -f $@
	$(AR) rcs $@ $(BUILD)/safetensors/seqgen-safetensors.o

# Linked against the shared core (through its public API) and jansson; seqgen_* exported only.
$(ST_SHARED_LIB): $(ST_OBJ) $(EXPORTS) $(SHARED_LIB)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,$(ST_SONAME) -Wl,--version-script=$(EXPORTS) $(LDFLAGS) $(CFLAGS) \
	    -o $@ $(ST_OBJ) -L$(LIBOUT) -lseqgen $(ST_LIBS)
	ln -sf libseqgen-safetensors.so.$(VERSION) $(LIBOUT)/$(ST_SONAME)
	ln -sf $(ST_SONAME) $(LIBOUT)/libseqgen-safetensors.so

# ---- Example programs (linked statically against the library) ---------------------------------
# Each program is its .c file, the shared examples/cli.c, and whatever else it names below with
# the libraries that needs: only seqgen-complete draws, so only it links giflib.
$(BUILD)/examples/%.o: examples/%.c
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) -Iinclude $(PROG_DEFINES) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(CLI_OBJ): $(DATADIR_STAMP)
$(CLI_OBJ): PROG_DEFINES = -DSEQGEN_DATADIR='"$(SEQGEN_DATADIR)"'

# Rewritten only when the path changes, so that only then is $(CLI_OBJ) rebuilt.
$(DATADIR_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(SEQGEN_DATADIR)' | cmp -s - $@ || echo '$(SEQGEN_DATADIR)' > $@

$(BUILD)/bin/%: examples/%.c $(CLI_OBJ) $(STATIC_LIB)
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) -Iinclude $(CPPFLAGS) $(CFLAGS) -MMD -MP $< $(filter %.o,$^) -o $@ \
	    $(LDFLAGS) $(PRE_LIBS) $(STATIC_LIB) $(LIB_LIBS) $(EXTRA_LIBS)

$(BUILD)/bin/seqgen-complete: $(GIF_OBJ)
$(BUILD)/bin/seqgen-complete: EXTRA_LIBS = $(GIF_LIBS)
# seqgen-convert links libseqgen-safetensors (before the core it uses) and jansson.
$(BUILD)/bin/seqgen-convert: $(ST_STATIC_LIB)
$(BUILD)/bin/seqgen-convert: PRE_LIBS = $(ST_STATIC_LIB)
$(BUILD)/bin/seqgen-convert: EXTRA_LIBS = $(ST_LIBS)

# seqgen-train is one process (examples/comm_local.c); seqgen-train-mpi is the same program for
# the ranks of an MPI job (examples/comm_mpi.c, compiled and linked by mpicc; docs/distributed.md).
$(BUILD)/bin/seqgen-train: $(BUILD)/examples/comm_local.o

$(BUILD)/examples/mpi/seqgen-train.o: examples/seqgen-train.c
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) -Iinclude -DPROG='"seqgen-train-mpi"' $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/examples/comm_mpi.o: examples/comm_mpi.c
	@mkdir -p $(@D)
	$(MPICC) $(BASEFLAGS) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(MPI_PROG): $(BUILD)/examples/mpi/seqgen-train.o $(BUILD)/examples/comm_mpi.o $(CLI_OBJ) $(STATIC_LIB)
	@mkdir -p $(@D)
	$(MPICC) $(BASEFLAGS) $(CFLAGS) $(filter %.o,$^) -o $@ $(LDFLAGS) $(STATIC_LIB) $(LIB_LIBS)

# ---- Tests ------------------------------------------------------------------------------------
# Tests link the static library so they can also reach internal functions through src/*.h.
$(TEST_UTIL): tests/testutil.c
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) $(INCLUDES) $(DEFINES) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/tests/%: tests/%.c $(TEST_UTIL) $(STATIC_LIB)
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) $(INCLUDES) $(EXTRA_INCLUDES) $(DEFINES) $(CPPFLAGS) $(CFLAGS) -MMD -MP $< \
	    $(filter %.o,$^) -o $@ $(LDFLAGS) $(PRE_LIBS) $(STATIC_LIB) $(LIB_LIBS) $(EXTRA_LIBS) \
	    $(CMOCKA_LIBS)

# test_gif tests the programs' GIF writer; it wraps malloc and friends to make them fail.
$(BUILD)/tests/test_gif: $(GIF_OBJ) $(CLI_OBJ)
$(BUILD)/tests/test_gif: EXTRA_INCLUDES = -Iexamples
$(BUILD)/tests/test_gif: EXTRA_LIBS = $(GIF_LIBS) -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc

# test_safetensors tests libseqgen-safetensors, linked as a program would link it.
$(BUILD)/tests/test_safetensors: $(ST_STATIC_LIB)
$(BUILD)/tests/test_safetensors: PRE_LIBS = $(ST_STATIC_LIB)
$(BUILD)/tests/test_safetensors: EXTRA_LIBS = $(ST_LIBS)

# The programs' test writes the Markov chain of tests/markov.h as .npy files with this tool.
MAKE_MARKOV := $(BUILD)/tests/make_markov
$(MAKE_MARKOV): tests/make_markov.c tests/markov.h tests/npy_write.h
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) $(CPPFLAGS) $(CFLAGS) $< -o $@ $(LDFLAGS) -lm

unit-tests: $(TESTS) $(PROGS)
	@failed=""; for t in $(TESTS); do \
	    echo "== $$t"; \
	    $(TEST_WRAPPER) ./$$t || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi; \
	echo "All $(words $(TESTS)) test suites passed."

check: deps
	$(MAKE) all $(BENCHES)
	sh tests/exports_test.sh $(SHARED_LIB) $(ST_SHARED_LIB)
	$(MAKE) unit-tests
	$(MAKE) fuzz-replay
	sh tests/layering_test.sh $(BUILD)
	$(MAKE) $(MAKE_MARKOV)
	sh tests/programs_test.sh $(BUILD)/bin $(MAKE_MARKOV)
	$(MAKE) refcheck
	$(MAKE) install-test

# PyTorch reference checker: compares the model with fixture files (tests/fixtures/README.md).
FIXTURES ?= $(wildcard tests/fixtures/*.txt)
refcheck: $(BUILD)/tests/refcheck
	$(TEST_WRAPPER) ./$(BUILD)/tests/refcheck $(FIXTURES)

install-test: all
	sh tests/install_test.sh "$(CC)"

SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
check-asan: deps
	ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:allocator_may_return_null=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	$(MAKE) BUILD=build/asan LIBOUT=build/asan/lib CFLAGS="$(SAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" unit-tests fuzz-replay

# test_train (48 Adam steps on real digits, 8 s natively) runs over 35 min under valgrind, and
# test_markov (8 epochs of 2000 sequences of 200 steps, about 1 s natively) 9.5 min; their code
# paths are covered there by the model, optimiser, fault, thread, sequence, length and
# evaluation suites, and both run under check-asan.
VALGRIND_SKIP ?= test_train test_markov
check-valgrind: deps
	@sh scripts/deps.sh valgrind
	$(MAKE) BUILD=build/valgrind LIBOUT=build/valgrind/lib CFLAGS="-O1 -g" \
	    TESTS="$(patsubst %,build/valgrind/tests/%,$(filter-out $(VALGRIND_SKIP),$(notdir $(TESTS))))" \
	    TEST_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect" \
	    unit-tests

# The suites with the portable kernels only (no AVX2 clones, no AVX2 micro-kernel), as on CPUs
# without AVX2: the dispatch picks the other path on this machine otherwise.
check-portable: deps
	$(MAKE) BUILD=build/portable LIBOUT=build/portable/lib CPPFLAGS="$(CPPFLAGS) -DSG_PORTABLE_ONLY" \
	    unit-tests

# The suites that run threads, under ThreadSanitizer (docs/robustness.md). Sanitizers must let
# an impossible allocation return NULL (allocator_may_return_null): the library reports ENOMEM.
TSAN_TESTS ?= test_threads test_model test_train test_complete test_generate test_evaluate \
              test_evaluate_symbols test_ar_head
check-tsan: deps
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:allocator_may_return_null=1 \
	$(MAKE) BUILD=build/tsan LIBOUT=build/tsan/lib CFLAGS="-O1 -g -fsanitize=thread" \
	    LDFLAGS="-fsanitize=thread" TESTS="$(TSAN_TESTS:%=build/tsan/tests/%)" unit-tests

# Data-parallel training with MPI (docs/distributed.md): 2 ranks against 1 process, resuming,
# a killed rank, errors on one rank, Ctrl-C. Needs Open MPI, which `make deps` does not install.
check-mpi:
	@sh scripts/deps.sh openmpi-bin libopenmpi-dev
	$(MAKE) $(MPI_PROG) $(PROGS) $(BUILD)/tests/compare_params $(BUILD)/tests/comm_test
	sh tests/mpi_test.sh $(BUILD)

$(BUILD)/tests/comm_test: tests/comm_test.c $(BUILD)/examples/comm_mpi.o
	$(MPICC) $(BASEFLAGS) -Iexamples $(CPPFLAGS) $(CFLAGS) -MMD -MP $^ -o $@ $(LDFLAGS)

# ---- Fuzzing (fuzz/README.md) -----------------------------------------------------------------
# Each fuzz/fuzz_*.c is linked with the library's sources built by clang with ASan and UBSan.
# New inputs go to $(FUZZ_BUILD)/corpus/NAME; crashes to $(FUZZ_BUILD)/NAME-crash-*.
FUZZ_CC      ?= clang
FUZZ_BUILD   := $(BUILD)/fuzz
FUZZ_FLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_RUN     ?= -timeout=30 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
FUZZ_NAMES   := $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)

$(FUZZ_BUILD)/src/%.o: src/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(BASEFLAGS) $(INCLUDES) $(DEFINES) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(BASEFLAGS) $(INCLUDES) $(DEFINES) $(FUZZ_FLAGS) -fsanitize=fuzzer -MMD -MP $< \
	    $(filter %.o,$^) -o $@ $(LIB_LIBS) $(EXTRA_LIBS)

# The safetensors harness: the library's parser with the core's own error detail and allocator
# (one static program, so support.c's bridge to them is left out).
$(FUZZ_BUILD)/fuzz_safetensors: $(FUZZ_BUILD)/src/safetensors/safetensors.o
$(FUZZ_BUILD)/fuzz_safetensors: EXTRA_LIBS = $(ST_LIBS)

# Each harness built with the ordinary compiler and fuzz/replay.c, fed its committed corpus: the
# harnesses keep compiling against the API, and every seed runs clean (in check-asan too).
REPLAYS := $(FUZZ_NAMES:%=$(BUILD)/fuzz-replay/%)

$(BUILD)/fuzz-replay/%: fuzz/%.c fuzz/replay.c $(STATIC_LIB)
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) $(INCLUDES) $(DEFINES) $(CPPFLAGS) $(CFLAGS) -MMD -MP $< fuzz/replay.c \
	    -o $@ $(LDFLAGS) $(PRE_LIBS) $(STATIC_LIB) $(LIB_LIBS) $(EXTRA_LIBS)

$(BUILD)/fuzz-replay/fuzz_safetensors: $(ST_STATIC_LIB)
$(BUILD)/fuzz-replay/fuzz_safetensors: PRE_LIBS = $(ST_STATIC_LIB)
$(BUILD)/fuzz-replay/fuzz_safetensors: EXTRA_LIBS = $(ST_LIBS)

fuzz-replay: $(REPLAYS)
	@for name in $(FUZZ_NAMES); do \
	    echo "== replay $$name"; \
	    $(TEST_WRAPPER) ./$(BUILD)/fuzz-replay/$$name fuzz/corpus/$$name/* || exit 1; \
	done

fuzz:
	@sh scripts/deps.sh clang libclang-rt-14-dev
	$(MAKE) $(FUZZ_NAMES:%=$(FUZZ_BUILD)/%)
	@for name in $(FUZZ_NAMES); do \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$name; \
	    echo "== $$name for $(FUZZ_SECONDS) s"; \
	    $(FUZZ_BUILD)/$$name $(FUZZ_RUN) -max_total_time=$(FUZZ_SECONDS) \
	        -artifact_prefix=$(FUZZ_BUILD)/$$name- $(FUZZ_BUILD)/corpus/$$name fuzz/corpus/$$name \
	        || exit 1; \
	done

# ---- Docs, deps, demo -------------------------------------------------------------------------
docs: deps
	@mkdir -p $(BUILD)/docs
	( cat docs/Doxyfile; echo "OUTPUT_DIRECTORY = $(BUILD)/docs"; echo "PROJECT_NUMBER = $(VERSION)" ) | doxygen -

deps:
	@sh scripts/deps.sh

demo: deps
	$(MAKE) all
	sh scripts/demo.sh $(BUILD)/bin

# The study of docs/results.md: about 3.5 hours on 2 cores (EXP_EPOCHS, EXP_DIR: see the script).
experiments: deps
	@sh scripts/deps.sh gnuplot-nox
	$(MAKE) all
	sh scripts/experiments.sh $(BUILD)/bin

# ---- Benchmarks (bench/README.md) -------------------------------------------------------------
BENCH_SRC  := $(wildcard bench/*.c)
BENCHES    := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
BENCH_ARGS ?=
TORCH_PYTHON ?= /usr/bin/python3#  Debian's python3-torch is installed for this interpreter

$(BUILD)/bench/%: bench/%.c $(STATIC_LIB)
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) -Iinclude $(BLAS_CFLAGS) $(CPPFLAGS) $(CFLAGS) -MMD -MP $< -o $@ $(LDFLAGS) \
	    $(STATIC_LIB) $(LIB_LIBS)

bench: $(BENCHES)
	./$(BUILD)/bench/bench $(BENCH_ARGS)

# The benchmark of git revision REV and of this tree, alternately (bench/versus.sh).
REV  ?= HEAD
RUNS ?= 3
bench-versus:
	sh bench/versus.sh $(REV) $(RUNS) $(BENCH_ARGS)

bench-compare: $(BENCHES)
	$(TORCH_PYTHON) bench/compare.py --bench ./$(BUILD)/bench/bench -- $(BENCH_ARGS)

# libseqgen and PyTorch on the word list, alternately, 3 seeds (bench/words.sh; a few minutes).
WORDS_ARGS ?= --epochs 2 --embedding 32 --hidden 128 --batch 64 --lr 0.002
bench-words: $(BUILD)/bench/words
	WORDS_BIN=./$(BUILD)/bench/words TORCH_PYTHON=$(TORCH_PYTHON) sh bench/words.sh "1 2 3" $(WORDS_ARGS)

# Issue 17: the MADE head's share of the training time at H 512, D 28, M 256 and libseqgen
# against PyTorch on that model, alternately HEADS_RUNS times (bench/heads.sh; about a minute).
HEADS_RUNS ?= 5
HEADS_ARGS ?=
bench-heads: $(BUILD)/bench/bench
	BENCH_BIN=./$(BUILD)/bench/bench TORCH_PYTHON=$(TORCH_PYTHON) sh bench/heads.sh $(HEADS_RUNS) \
	    $(HEADS_ARGS)

# ---- PyTorch interop (docs/interop.md; needs python3-torch, so not part of check) -------------
# 1. A libseqgen model (seqgen-train, H 32, L 2, 10 short epochs: about 15 s) converted with the original project's
#    names, completed by libseqgen, then loaded by PyTorch (load_state_dict, strict) and completed
#    again there: the probabilities and pixels must agree. 2. The fixture of make check made
#    again by PyTorch, completed by libseqgen, checked the same way.
INTEROP := $(BUILD)/interop
$(BUILD)/tests/safetensors_complete: $(ST_STATIC_LIB)
$(BUILD)/tests/safetensors_complete: PRE_LIBS = $(ST_STATIC_LIB)
$(BUILD)/tests/safetensors_complete: EXTRA_LIBS = $(ST_LIBS)

pytorch-interop: $(BUILD)/tests/safetensors_complete $(PROGS)
	@sh scripts/deps.sh python3-torch python3-numpy
	rm -rf $(INTEROP) && mkdir -p $(INTEROP)
	./$(BUILD)/bin/seqgen-train --hidden 32 --layers 2 --train-limit 2000 --test-limit 20 \
	    --epochs 10 --lr 0.01 --loss bce --batch-size 32 --threads 2 --quiet \
	    --out-dir $(INTEROP)/runs --exp-name interop
	./$(BUILD)/bin/seqgen-convert --gru rnn --linear linear $(INTEROP)/runs/interop/model.ckpt \
	    $(INTEROP)/libseqgen.safetensors
	./$(BUILD)/tests/safetensors_complete $(INTEROP)/libseqgen.safetensors \
	    tests/fixtures/safetensors/original-h32-l1-completions.txt $(INTEROP)/libseqgen-completions.txt
	$(TORCH_PYTHON) scripts/pytorch_safetensors.py check --model $(INTEROP)/libseqgen.safetensors \
	    --completions $(INTEROP)/libseqgen-completions.txt
	$(TORCH_PYTHON) scripts/pytorch_safetensors.py fixture --out-dir $(INTEROP)/fixture
	./$(BUILD)/tests/safetensors_complete $(INTEROP)/fixture/original-h32-l1.safetensors \
	    $(INTEROP)/fixture/original-h32-l1-completions.txt $(INTEROP)/fixture-libseqgen.txt
	$(TORCH_PYTHON) scripts/pytorch_safetensors.py check \
	    --model $(INTEROP)/fixture/original-h32-l1.safetensors --completions $(INTEROP)/fixture-libseqgen.txt
	@cmp -s $(INTEROP)/fixture/original-h32-l1.safetensors tests/fixtures/safetensors/original-h32-l1.safetensors \
	    && echo "pytorch-interop: the fixture made again is byte for byte the committed one" \
	    || echo "pytorch-interop: the fixture made again differs from the committed one (another PyTorch or CPU)"

# ---- Install ----------------------------------------------------------------------------------
INSTALLED_PROGS = $(PROGS:$(BUILD)/bin/%=$(DESTDIR)$(BINDIR)/%)

# The .pc file is written at install time, since it records PREFIX and LIBDIR. The CBLAS and
# zlib go into Libs.private as flags, not as Requires.private: pkg-config would add their Cflags
# to `--cflags seqgen`, and seqgen.h includes neither. The CBLAS's static flags come from its .pc
# unless BLAS_LIBS was given.
PC_BLAS_LIBS = $(if $(and $(BLAS_PC),$(filter file,$(origin BLAS_LIBS))), \
               $(shell pkg-config --static --libs $(BLAS_PC)),$(BLAS_LIBS))
PC_SED = -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(patsubst $(PREFIX)%,$${prefix}%,$(LIBDIR))|' \
	 -e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)%,$${prefix}%,$(INCLUDEDIR))|' \
	 -e 's|@VERSION@|$(VERSION)|' \
	 -e 's|@LIBS_PRIVATE@|$(strip $(PC_BLAS_LIBS) $(ZLIB_LIBS) -lm -pthread)|'

install: all
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(BINDIR)
	install -m 644 include/seqgen.h $(DESTDIR)$(INCLUDEDIR)/seqgen.h
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(LIBDIR)/libseqgen.a
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(LIBDIR)/libseqgen.so.$(VERSION)
	ln -sf libseqgen.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libseqgen.so
	sed $(PC_SED) pkgconfig/seqgen.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/seqgen.pc
	install -m 644 include/seqgen_safetensors.h $(DESTDIR)$(INCLUDEDIR)/seqgen_safetensors.h
	install -m 644 $(ST_STATIC_LIB) $(DESTDIR)$(LIBDIR)/libseqgen-safetensors.a
	install -m 755 $(ST_SHARED_LIB) $(DESTDIR)$(LIBDIR)/libseqgen-safetensors.so.$(VERSION)
	ln -sf libseqgen-safetensors.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(ST_SONAME)
	ln -sf $(ST_SONAME) $(DESTDIR)$(LIBDIR)/libseqgen-safetensors.so
	sed $(PC_SED) -e 's|@JANSSON_LIBS@|$(strip $(JANSSON_LIBS))|' \
	    pkgconfig/seqgen-safetensors.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/seqgen-safetensors.pc
	$(if $(PROGS),install -m 755 $(PROGS) $(DESTDIR)$(BINDIR)/)
	install -d $(DESTDIR)$(SEQGEN_DATADIR)/mnist10k
	install -m 644 $(DATA_FILES) $(DESTDIR)$(SEQGEN_DATADIR)/mnist10k/
	install -m 644 data/README.md $(DESTDIR)$(SEQGEN_DATADIR)/README.md
	@if [ -d $(BUILD)/docs/html ]; then \
	    echo "install -d $(DESTDIR)$(DOCDIR) && cp -R $(BUILD)/docs/html $(DESTDIR)$(DOCDIR)/"; \
	    install -d $(DESTDIR)$(DOCDIR) && cp -R $(BUILD)/docs/html $(DESTDIR)$(DOCDIR)/; \
	else \
	    echo "install: the HTML reference is not built, so not installed: make docs, then make install, to include it"; \
	fi

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/seqgen.h $(DESTDIR)$(LIBDIR)/libseqgen.a \
	    $(DESTDIR)$(LIBDIR)/libseqgen.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	    $(DESTDIR)$(LIBDIR)/libseqgen.so $(DESTDIR)$(PKGCONFIGDIR)/seqgen.pc $(INSTALLED_PROGS) \
	    $(DESTDIR)$(BINDIR)/seqgen-train-mpi \
	    $(DESTDIR)$(INCLUDEDIR)/seqgen_safetensors.h $(DESTDIR)$(LIBDIR)/libseqgen-safetensors.a \
	    $(DESTDIR)$(LIBDIR)/libseqgen-safetensors.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(ST_SONAME) \
	    $(DESTDIR)$(LIBDIR)/libseqgen-safetensors.so \
	    $(DESTDIR)$(PKGCONFIGDIR)/seqgen-safetensors.pc \
	    $(DATA_FILES:data/%=$(DESTDIR)$(SEQGEN_DATADIR)/%) $(DESTDIR)$(SEQGEN_DATADIR)/README.md
	rmdir $(DESTDIR)$(SEQGEN_DATADIR)/mnist10k $(DESTDIR)$(SEQGEN_DATADIR) 2>/dev/null || true
	rm -rf $(DESTDIR)$(DOCDIR)

clean:
	rm -rf $(BUILD) build $(LIBOUT)/libseqgen.*

-include $(ST_SRC:%.c=$(BUILD)/%.d)
-include $(LIB_OBJ:.o=.d) $(TESTS:=.d) $(PROGS:=.d) $(TEST_UTIL:.o=.d) $(BENCHES:=.d)
-include $(CLI_OBJ:.o=.d) $(GIF_OBJ:.o=.d) $(BUILD)/examples/mpi/seqgen-train.d $(BUILD)/examples/comm_mpi.d \
    $(BUILD)/examples/comm_local.d $(BUILD)/tests/compare_params.d $(BUILD)/tests/comm_test.d
-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_NAMES:%=$(FUZZ_BUILD)/%.d) $(REPLAYS:=.d)
