# ticketsim: `make run` shows the race, `make test` runs every test.
# Both install what they need first (Debian packages, via apt-get).

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
RELEASE_BUILD ?= build-release
FUZZ_BUILD ?= build-fuzz
FUZZ_RUNS  ?= 1000000
# Where ccache is installed, compilations go through it: a second clone, or
# a build folder made again, then costs seconds rather than minutes.
CCACHE     := $(if $(shell command -v ccache),-DCMAKE_C_COMPILER_LAUNCHER=ccache \
                -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
GENERATOR  := -G Ninja $(CCACHE)
JOBS       ?= $(shell nproc)
BIN        := $(BUILD)/ticketsim

# What building ticketsim needs (`make install`, `make package`), as Debian
# names it; dpkg-dev finds the package's dependencies (dpkg-shlibdeps).
BUILD_PACKAGES := cmake make g++ ninja-build pkg-config \
            libboost-dev libsqlite3-dev libgtest-dev libgmock-dev libbenchmark-dev \
            libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libfmt-dev libre2-dev \
            libpq-dev dpkg-dev
# Everything the build and the tests need: the manual page is read with
# man-db, the completions tried in zsh and fish, the CI examples parsed with
# python3-yaml.
PACKAGES := $(BUILD_PACKAGES) python3 chromium postgresql iproute2 \
            man-db python3-yaml zsh fish

# `make fuzz` also needs clang and libFuzzer (in compiler-rt).
FUZZ_PACKAGES := clang libclang-rt-dev

SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# Installs the Debian packages among $(1) that are not installed yet.
define install
@missing=$$(for p in $(1); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

# The classroom demo: the tutorial's rush (file store, 10 buyers, 1 ticket)
# without a lock and with one. Each file expects what it shows ([expect]), so
# the exit code is 0 only if the race showed unguarded and not guarded.
DEMO := scenarios/01-rush-unguarded.toml scenarios/02-rush-guarded.toml

# Where `make install` puts ticketsim (DESTDIR=... stages it under a root).
PREFIX ?= /usr/local

.PHONY: all deps build-deps build run test asan tsan release bench fuzz clean install package

all: build

deps:
	$(call install,$(PACKAGES))

build-deps:
	$(call install,$(BUILD_PACKAGES))

# Warnings are errors here (TICKETSIM_WERROR), though not by default in
# CMake, where a packager's newer compiler must not break the build.
# Paths under the source folder are hashed relative to it, so that a clone
# in another folder finds what an earlier clone compiled.
export CCACHE_BASEDIR ?= $(CURDIR)
# Debug information is line tables only (-g1): backtraces and profiles keep
# their lines, and a first build takes about a third less time than with -g.
# Each folder's files are compiled together, four to a unit
# (TICKETSIM_UNITY): a first build of the program takes a third less time.
CONFIGURE := grep -qs '^TICKETSIM_UNITY:BOOL=ON' $(BUILD)/CMakeCache.txt || \
	  cmake -S . -B $(BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
	    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DTICKETSIM_WERROR=ON \
	    -DTICKETSIM_UNITY=ON
define configure
@$(CONFIGURE)
endef

build: deps
	$(configure)
	cmake --build $(BUILD) -j $(JOBS)

# The program, its scenario library, helpers, examples, docs, manual page and
# shell completions, under $(PREFIX) (packaging/install.cmake lists where).
install: build-deps
	$(configure)
	cmake --build $(BUILD) -j $(JOBS) --target ticketsim ticketsim_docs
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)" --strip

# The same as a Debian package: $(BUILD)/ticketsim_<version>_<arch>.deb,
# depending on the runtime packages of the libraries it links.
package: build-deps
	$(configure)
	cmake --build $(BUILD) -j $(JOBS) --target ticketsim ticketsim_docs
	cd $(BUILD) && cpack -G DEB

# The demo needs the program alone (`make test` builds the tests). Both
# verdicts come first, in short, so that they fit on the first screen; the
# full reports follow.
# The build's own lines go to a log, so that the class's screen shows the
# race, not the compiler (the log's end is shown if the build fails).
RUN_LOG := $(BUILD)/make-run.log
run: deps
	@mkdir -p $(BUILD)
	@echo "building ticketsim (minutes the first time, seconds after; the log: $(RUN_LOG))"
	@{ $(CONFIGURE); } > $(RUN_LOG) 2>&1 && \
	  cmake --build $(BUILD) -j $(JOBS) --target ticketsim >> $(RUN_LOG) 2>&1 || \
	  { tail -n 40 $(RUN_LOG); exit 1; }
	@echo
	@$(BIN) run --verdicts-first $(DEMO)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan: deps
	cmake -S . -B $(ASAN_BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=Debug -DTICKETSIM_SANITIZE=ON \
	  -DTICKETSIM_WERROR=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)

# The tests under ThreadSanitizer: a data race in ticketsim's own code ends
# the process at its first report (halt_on_error), so the test that ran it
# fails; a lock-order report shows where both locks were taken.
tsan: deps
	cmake -S . -B $(TSAN_BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=Debug -DTICKETSIM_TSAN=ON \
	  -DTICKETSIM_WERROR=ON
	cmake --build $(TSAN_BUILD) -j $(JOBS)
	cd $(TSAN_BUILD) && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	  ctest --output-on-failure -j $(JOBS)

# The build as packagers make it (Release: -O3, whose analyses warn of
# things -O2 does not), with warnings as errors.
release: deps
	cmake -S . -B $(RELEASE_BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=Release \
	  -DTICKETSIM_WERROR=ON
	cmake --build $(RELEASE_BUILD) -j $(JOBS)

# Four fuzzers under libFuzzer, for $(FUZZ_RUNS) inputs each: the scenario
# loader, `--set` and the command line (every flag and output path,
# prepared but never run); a program's fd-3 event lines; an agent's lines as
# the parent takes them, with every report of what it took. Each starts from
# fuzz/corpus/NAME with fuzz/NAME.dict and keeps what it finds in
# $(FUZZ_BUILD)/corpus/NAME, so the committed corpus only grows by hand. A
# crash is saved as $(FUZZ_BUILD)/NAME-crash-*; add it to fuzz/corpus/NAME
# once the code is fixed.
FUZZERS := scenario program_events agent_lines http_request
fuzz: deps
	$(call install,$(FUZZ_PACKAGES))
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) $(GENERATOR) \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTICKETSIM_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(FUZZERS:%=%_fuzzer)
	@for f in $(FUZZERS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$f; \
	  case $$f in program_events) len=8192;; *) len=4096;; esac; \
	  echo "fuzzing $$f: $(FUZZ_RUNS) inputs; libFuzzer's output: $(FUZZ_BUILD)/$$f.log"; \
	  $(FUZZ_BUILD)/$${f}_fuzzer $(FUZZ_BUILD)/corpus/$$f fuzz/corpus/$$f \
	    -dict=fuzz/$$f.dict -runs=$(FUZZ_RUNS) -max_len=$$len \
	    -artifact_prefix=$(FUZZ_BUILD)/$$f- -print_final_stats=1 \
	    > $(FUZZ_BUILD)/$$f.log 2>&1 || { tail -n 40 $(FUZZ_BUILD)/$$f.log; exit 1; }; \
	  grep -E '^Done|number_of_executed_units|average_exec_per_sec' $(FUZZ_BUILD)/$$f.log; \
	done

# Benchmarks: one purchase step per store x guard (Google Benchmark), then
# the end-to-end comparisons, written to BENCHMARKS.md. The tutorial's program
# is looked for at SEED.
SEED ?= ../shared/peers/seed_rush.py
bench: build
	$(BUILD)/purchase_bench --benchmark_min_time=0.2
	$(BUILD)/ticketsim_bench --ticketsim $(BIN) --seed $(SEED) \
	  --c-buyer $(BUILD)/example_c_buyer --out BENCHMARKS.md

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(RELEASE_BUILD) $(FUZZ_BUILD)
