# ticketsim: `make run` shows the race, `make test` runs every test.
# Both install what they need first (Debian packages, via apt-get).

BUILD      ?= build
ASAN_BUILD ?= build-asan
GENERATOR  := -G Ninja
JOBS       ?= $(shell nproc)
BIN        := $(BUILD)/ticketsim

# Everything the build and the tests need, as Debian names it.
PACKAGES := cmake make g++ ninja-build pkg-config \
            libboost-dev libsqlite3-dev libgtest-dev libgmock-dev libbenchmark-dev \
            libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libfmt-dev

SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# The classroom demo: the seed's rush (file store, 10 buyers, 1 ticket), with
# a think time long enough that every buyer reads before anyone writes.
DEMO := run --store file --buyers 10 --tickets 1 --think-ms 20,50

.PHONY: all deps build run test asan clean

all: build

deps:
	@missing=$$(for p in $(PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	@test -f $(BUILD)/CMakeCache.txt || \
	  cmake -S . -B $(BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS)

# The unguarded run must find violations (exit 1); the guarded one none (0).
run: build
	@echo
	@$(BIN) $(DEMO) --guard none --set "name=Ten buyers, one ticket, no lock"; \
	  test $$? -eq 1 || { echo "make run: the unguarded demo should have shown the race"; exit 1; }
	@echo
	@$(BIN) $(DEMO) --guard file-lock --set "name=Ten buyers, one ticket, a file lock on the purchase"

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan: deps
	cmake -S . -B $(ASAN_BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=Debug -DTICKETSIM_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
