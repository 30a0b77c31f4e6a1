## The performance benchmark (issue "Performance"; results and how to read them: BENCHMARKS.md).
##   make bench     install what is missing, build the release library, run bench/run.sh: every
##                  measurement, then the table (also in build/bench/table.md). About 3 minutes.
## Never part of `make test`: the figures are goals of the benchmark, not timed assertions. The
## run fails only when the library's round trip through PHP FFI exceeds 1.2x the kept-alive curl
## floor. FLX_BENCH_QUICK=1 makes a short smoke run.
.PHONY: bench size
bench: deps
	bash bench/deps.sh
	@mkdir -p $(BUILD_DIR) && rm -f $(BUILD_DIR)/size.jsonl
	$(MAKE) --no-print-directory size SIZE_JSONL=$(BUILD_DIR)/size.jsonl
	$(MAKE) --no-print-directory build PROFILE=release
	SIZE_JSONL=$(BUILD_DIR)/size.jsonl bash bench/run.sh $(TARGET_DIR)/release/libflexiti_auth.so

## make size: the release library stripped, with the default features and with every optional
## feature of capi/ (what `make dist` builds); fails when the default build is over SIZE_LIMIT
## bytes. Size does not depend on the machine's load, so this is a plain check (tools/size.sh).
SIZE_LIMIT ?= 2097152
SIZE_JSONL ?=
size:
	CARGO=$(CARGO) bash tools/size.sh $(SIZE_LIMIT) $(SIZE_JSONL)
