# netpol: top-level entry points. The real build is Meson + ninja.
#   make            build build/netpol
#   make check      install dependencies, build, run every test
#   make demo       install dependencies, build, run the tutorial
#   make bench      benchmarks (never part of check)
#   make conformance  the upstream NetworkPolicy e2e cases on real traffic (also in check)

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 10

.PHONY: all setup build build-asan build-fuzz check demo bench conformance clean

all: build

setup:
	@scripts/setup.sh
	@scripts/build-busybox.sh >/dev/null

$(BUILD)/build.ninja:
	meson setup $(BUILD) >/dev/null

build: setup $(BUILD)/build.ninja
	@ninja -C $(BUILD) >/dev/null || ninja -C $(BUILD)
	@ln -sf netpol $(BUILD)/kubectl

$(BUILD_ASAN)/build.ninja:
	meson setup $(BUILD_ASAN) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug >/dev/null

build-asan: setup $(BUILD_ASAN)/build.ninja
	@ninja -C $(BUILD_ASAN) >/dev/null || ninja -C $(BUILD_ASAN)

$(BUILD_FUZZ)/build.ninja:
	CC=clang meson setup $(BUILD_FUZZ) -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug >/dev/null

build-fuzz: setup $(BUILD_FUZZ)/build.ninja
	@ninja -C $(BUILD_FUZZ) >/dev/null || ninja -C $(BUILD_FUZZ)

check: build build-asan build-fuzz
	@BUILD=$(BUILD) BUILD_ASAN=$(BUILD_ASAN) BUILD_FUZZ=$(BUILD_FUZZ) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/run.sh

demo: build
	@scripts/demo.sh

bench: build
	@bench/run.sh

conformance: build
	@NETPOL=$(CURDIR)/$(BUILD)/netpol tests/conformance/suite.sh

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
