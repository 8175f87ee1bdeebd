# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# A thin layer over CMake for the two things everyone does:
#   make run    build and run `ember top` (it records the whole system itself when no collector
#               runs; q or Ctrl-C quits)
#   make test   build (normal and ASan+UBSan) and run every test
#   make deb    the Debian package (build-deb/ember_VERSION_ARCH.deb)
# scripts/setup.sh installs the Debian packages first; both targets call it.

BUILD     ?= build
ASAN      ?= build-asan
JOBS      ?= $(shell nproc)
RUN_ARGS  ?=

.PHONY: all setup build build-asan run test test-fast deb clean

all: build

setup:
	./scripts/setup.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

$(ASAN)/build.ninja:
	cmake -S . -B $(ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DEMBER_SANITIZE=ON

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

build-asan: setup $(ASAN)/build.ninja
	cmake --build $(ASAN) -j $(JOBS)

run: build
	./$(BUILD)/ember top $(RUN_ARGS)

# Every test in the normal build, then the unit, storage, end-to-end and TUI tests again under
# ASan+UBSan.
test: build build-asan
	cd $(BUILD) && ctest --output-on-failure -j 2
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j 2 -L 'unit|storage|e2e|tui'

# The normal build's tests only.
test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j 2

# The Debian package, from its own release build with the prefix /usr.
deb: setup
	cmake -S . -B build-deb -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
		-DEMBER_TESTS=OFF
	cmake --build build-deb -j $(JOBS)
	cd build-deb && cpack -G DEB

clean:
	rm -rf $(BUILD) $(ASAN) build-deb
