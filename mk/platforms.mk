## Legacy platforms (PLATFORMS.md): the library for glibc 2.17 on x86_64, i686 and aarch64
## (cargo-zigbuild, zig from PyPI) and for Windows x86_64 (mingw-w64), each proven by the C suite
## against the local token server. Toolchain parts are installed when missing.
##   make test-glibc217    x86_64 glibc 2.17: symbol check (and its self-test) + C suite; in `make test`
##   make test-platforms   every platform; writes the results table of PLATFORMS.md
##   make dist             dist/<platform>/ for every platform and the packages made from them
##                         (wheels, Composer artifact, .debs, Windows zips: mk/packages.mk), SHA256SUMS
##   make dist-repro       make dist, then a second build from scratch: same checksums?
PLATFORMS_ENV := PLATFORMS_BUILD_DIR=$(BUILD_DIR)/platforms ZIG_TARGET_DIR=$(TARGET_DIR)/zig
PLATFORMS_SH  := $(PLATFORMS_ENV) bash $(CURDIR)/tests/platforms/platforms.sh
DIST_PLATFORMS ?=

.PHONY: test-glibc217 test-platforms dist dist-repro

test-glibc217: build
	@mkdir -p $(BUILD_DIR)/platforms
	bash tests/platforms/check-glibc-symbols-selftest.sh $(BUILD_DIR)/platforms/symbol-selftest
	$(PLATFORMS_SH) test linux-x86_64

test-platforms: build
	$(PLATFORMS_SH) matrix

dist:
	$(PLATFORMS_ENV) DIST_PLATFORMS="$(DIST_PLATFORMS)" bash tools/dist.sh

dist-repro:
	$(PLATFORMS_ENV) DIST_PLATFORMS="$(DIST_PLATFORMS)" bash tools/dist.sh --repro

EXTRA_TESTS += test-glibc217
