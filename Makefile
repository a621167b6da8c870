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
            libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libfmt-dev \
            python3 chromium

SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# The classroom demo: the seed's rush (file store, 10 buyers, 1 ticket)
# without a lock and with one. Each file expects what it shows ([expect]), so
# the exit code is 0 only if the race showed unguarded and not guarded.
DEMO := scenarios/01-rush-unguarded.toml scenarios/02-rush-guarded.toml

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

run: build
	@echo
	@$(BIN) run $(DEMO)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan: deps
	cmake -S . -B $(ASAN_BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=Debug -DTICKETSIM_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
