# flexiti-auth — one entry point for building, testing and the demo.
#   make demo   build, start a local Flexiti-compatible token server, run the C demo
#   make test   install what is missing, build, run every test suite
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO        ?= cargo
PROFILE      ?= debug
TARGET_DIR   := $(CURDIR)/target
LIB_DIR      := $(TARGET_DIR)/$(PROFILE)
LIB          := $(LIB_DIR)/libflexiti_auth.so
SONAME_LINK  := $(LIB_DIR)/libflexiti_auth.so.0
TOKEN_SERVER := $(LIB_DIR)/flexiti-token-server
BUILD_DIR    := $(CURDIR)/build
CC           ?= cc
CXX          ?= c++
# Cargo features of the library every suite loads. `redis` (token_store=redis://, rediss://) is
# off in a plain `cargo build` to keep the default library small; the suites test the library
# with it, as `make dist` ships it (FEATURES= tests the default build instead).
FEATURES     ?= redis
CARGO_FLAGS  := $(if $(filter release,$(PROFILE)),--release,) $(if $(strip $(FEATURES)),--features "$(foreach f,$(FEATURES),flexiti-auth/$(f))",)

# Environment proxies apply to loopback too: the suites talk to 127.0.0.1 only.
unexport http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY FLX_LOG
export FLX_TOKEN_SERVER := $(TOKEN_SERVER)
export FLEXITI_AUTH_LIB := $(LIB)

# Suites of the bindings, each in its own fragment (each adds its test target to EXTRA_TESTS).
EXTRA_TESTS :=
-include mk/*.mk

.PHONY: help build deps test test-rust test-c test-headers test-php-header test-token-server test-readme demo clean

help:
	@echo "make demo    - build, start a local token server, run the C demo (new, cached, refreshed)"
	@echo "make test    - install missing tools, build, run every test suite"
	@echo "make examples - build the C and C++ POS-terminal examples"
	@echo "make install PREFIX=/usr/local - install the library, headers and flexiti_auth.pc"
	@echo "make clean   - remove build output"

## deps: what the suites need on a fresh Debian machine (installed only when missing).
APT_PACKAGES := php-cli php-curl php-fpm phpunit libfcgi-bin pkg-config valgrind curl openssl redis-server socat
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@python3 -c "import pytest" 2>/dev/null || python3 -m pip install -q pytest

build:
	$(CARGO) build $(CARGO_FLAGS) --workspace
	@ln -sf libflexiti_auth.so $(SONAME_LINK)

TEST_SUITES = test-headers test-rust test-c test-php-header test-token-server test-readme $(EXTRA_TESTS)
test: deps build $(TEST_SUITES)
	@echo "make test: every suite passed"
	@echo "suites: $(words $(TEST_SUITES)) passed, 0 failed"

test-rust: build
	$(CARGO) test $(CARGO_FLAGS) --workspace -- --test-threads=4
	@# The default build (no optional feature) must compile cleanly too: checked, not built, so
	@# the library the suites load stays the featured one.
	$(CARGO) check $(if $(filter release,$(PROFILE)),--release,) --lib -p flexiti-auth

## The token server itself, checked with curl (every control endpoint and fault kind).
test-token-server: build
	FLEXITI_TOKEN_SERVER=$(TOKEN_SERVER) bash tests/token-server/smoke.sh

## Every example in README.md, run as written.
test-readme: build deps
	bash tests/readme/run-examples.sh

## The committed headers must be what cbindgen generates from the code now.
test-headers: build
	@if git -C $(CURDIR) rev-parse --git-dir >/dev/null 2>&1; then \
	  git -C $(CURDIR) diff --exit-code -- include/flexiti_auth.h include/flexiti_auth_php.h \
	    || { echo "include/ headers are stale: commit what build.rs generated"; exit 1; }; \
	  git -C $(CURDIR) ls-files --error-unmatch include/flexiti_auth.h include/flexiti_auth_php.h >/dev/null; \
	fi
	@echo "headers: committed copies are current"

## The PHP header must load through PHP's own FFI parser.
test-php-header: build deps
	php -d ffi.enable=1 tests/php_header_check.php $(LIB)

## The C suite: strict C99 against the header, the header also as C++, then run it (under
## valgrind when present: zero errors, zero leaks).
C_FLAGS := -std=c99 -Wall -Wextra -Werror -pedantic -I include
test-c: build
	@mkdir -p $(BUILD_DIR)
	$(CC) $(C_FLAGS) -o $(BUILD_DIR)/test_core tests/c/test_core.c tests/c/harness.c -L $(LIB_DIR) -lflexiti_auth -Wl,-rpath,$(LIB_DIR) -lpthread
	$(CXX) -std=c++11 -Wall -Wextra -Werror -I include -x c++ -fsyntax-only tests/c/header_as_cxx.cpp
	$(CC) $(C_FLAGS) -o $(BUILD_DIR)/test_soundness tests/c/test_soundness.c tests/c/harness.c -L $(LIB_DIR) -lflexiti_auth -Wl,-rpath,$(LIB_DIR) -lpthread
	$(BUILD_DIR)/test_core
	$(BUILD_DIR)/test_soundness
	@if command -v valgrind >/dev/null; then \
	  for t in test_core test_soundness; do \
	    valgrind --quiet --error-exitcode=99 --suppressions=tests/c/valgrind.supp --leak-check=full --show-leak-kinds=definite,indirect,possible \
	      --errors-for-leak-kinds=definite,indirect,possible $(BUILD_DIR)/$$t || exit 1; \
	  done; \
	fi

demo: build
	@mkdir -p $(BUILD_DIR)
	$(CC) -std=c99 -Wall -Wextra -I include -o $(BUILD_DIR)/demo examples/demo.c -L $(LIB_DIR) -lflexiti_auth -Wl,-rpath,$(LIB_DIR)
	@bash tests/support/run-with-token-server.sh $(BUILD_DIR)/demo

clean:
	$(CARGO) clean
	rm -rf $(BUILD_DIR) dist

