## The token store on Redis (README "Web farm"). Its suites (tests/redis_store.rs,
## tests/redis_farm.rs) run in test-rust, against redis-servers they start themselves (make deps
## installs Debian's redis-server); they need the library's `redis` feature, which FEATURES
## turns on.
##   make bench-farm   the web farm figures of BENCHMARKS.md (release build; about a minute)
.PHONY: bench-farm
bench-farm: deps
	$(MAKE) --no-print-directory build PROFILE=release
	bash bench/farm.sh $(TARGET_DIR)/release/libflexiti_auth.so
