## Reliability and security (RELIABILITY.md).
##   make test     runs test-reliability-c (below); the Rust suites tests/reliability*.rs,
##                 tests/stress.rs (short run), tests/secrets.rs and the fuzz corpus replay run
##                 in test-rust.
##   make stress   the long stress run (64 threads, FLX_STRESS_SECS seconds, default 300) and the
##                 fork test repeated.
##   make fuzz     every cargo-fuzz target for FUZZ_SECS seconds each (default 600), one at a time.

FUZZ_SECS    ?= 600
STRESS_SECS  ?= 300
FUZZ_DIR     := $(CURDIR)/fuzz
FUZZ_TARGETS := token_response session_import options response_headers
VALGRIND     := valgrind --quiet --error-exitcode=99 --suppressions=tests/c/valgrind.supp --leak-check=full \
                --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible

.PHONY: test-reliability-c stress fuzz fuzz-build

## The C bad-input suite: every NULL, bad string, bad option, bad session and server fault
## through the C surface, under valgrind (zero errors, zero leaks); then, natively, the
## best-effort detection of use after free and double free.
test-reliability-c: build
	@mkdir -p $(BUILD_DIR)
	$(CC) $(C_FLAGS) -o $(BUILD_DIR)/test_bad_input tests/c/test_bad_input.c tests/c/harness.c \
	  -L $(LIB_DIR) -lflexiti_auth -Wl,-rpath,$(LIB_DIR) -lpthread
	@if command -v valgrind >/dev/null; then \
	  $(VALGRIND) $(BUILD_DIR)/test_bad_input; \
	else \
	  echo "valgrind missing: running test_bad_input without it"; $(BUILD_DIR)/test_bad_input; \
	fi
	$(BUILD_DIR)/test_bad_input --undefined

stress: build
	FLX_STRESS_SECS=$(STRESS_SECS) $(CARGO) test $(CARGO_FLAGS) --test stress -- --ignored --nocapture --test-threads=1
	for i in 1 2 3 4 5; do $(CARGO) test $(CARGO_FLAGS) --test reliability_fork -- --test-threads=1 || exit 1; done

## cargo-fuzz needs nightly; the targets live outside the workspace (fuzz/Cargo.toml).
fuzz-build:
	@cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
	cd $(FUZZ_DIR) && cargo +nightly fuzz build -a

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  echo "== fuzz $$t for $(FUZZ_SECS) s"; \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/work/$$t; \
	  (cd $(FUZZ_DIR) && cargo +nightly fuzz run -a $$t work/$$t corpus/$$t -- \
	     -max_total_time=$(FUZZ_SECS) -rss_limit_mb=2048 -timeout=10 -print_final_stats=1) || exit 1; \
	done

EXTRA_TESTS += test-reliability-c
