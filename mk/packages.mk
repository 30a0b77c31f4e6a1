## The packages people install (tools/packages.sh; tested by tests/packages/test-packages.sh):
## Python wheels with the library inside, the Composer artifact zip, the .deb packages and the
## Windows zip; PLATFORMS.md ("Packages") lists them. What runs where:
##
##   make test (affordable here: no cross build, every package below comes from builds `make
##   test` makes anyway)
##     test-packages-x86_64  the x86_64 packages -- manylinux2014_x86_64 wheel, Composer artifact
##                           (lib/linux-x86_64), amd64 .debs -- made from the glibc 2.17 build of
##                           test-glibc217 into build/packages/linux-x86_64 (twice: the same bytes
##                           both times), then: their contents
##                           and `auditwheel show`; README.md's Install blocks as written: the wheel
##                           in a fresh venv and the binding's own suite against it with
##                           FLEXITI_AUTH_LIB unset; `composer require` from the artifact, offline,
##                           and a token call; `dpkg -i`, the README's C example built with
##                           pkg-config and run, flexiti-token, `dpkg -r` leaving nothing behind
##     test-python-source    README.md's `pip install ./bindings/python` in a fresh venv
##                           (setuptools-rust builds the library into the package; dev profile and
##                           target/ here, reusing the compiled dependencies, to stay fast), then the
##                           loading and token tests with FLEXITI_AUTH_LIB unset
##   not in make test (cross builds of every platform: 15+ minutes on two cores)
##     make dist             every platform and every package into dist/, with SHA256SUMS
##                           (mk/platforms.mk, tools/dist.sh); writes PLATFORMS.md's package table
##     make test-packages    make dist, then every check above on all of dist/: every wheel
##                           through `auditwheel show`, every .deb's architecture and files, the
##                           Composer artifact's lib/ of each platform, the Windows zip (the README's
##                           C example built against it with MinGW), and the x86_64 installs
PKG_TEST_DIR := $(BUILD_DIR)/packages

.PHONY: test-packages-x86_64 test-python-source test-packages

test-packages-x86_64: build test-glibc217
	@rm -rf $(PKG_TEST_DIR) && mkdir -p $(PKG_TEST_DIR)/trees
	ln -s $(BUILD_DIR)/platforms/linux-x86_64/pkg $(PKG_TEST_DIR)/trees/linux-x86_64
	PACKAGES_VENV=$(BUILD_DIR)/platforms/packages-venv bash tools/packages.sh build $(PKG_TEST_DIR)/trees $(PKG_TEST_DIR)/linux-x86_64 linux-x86_64
	@# Reproducible: made a second time, in another directory, every package has the same bytes.
	PACKAGES_VENV=$(BUILD_DIR)/platforms/packages-venv bash tools/packages.sh build $(PKG_TEST_DIR)/trees $(PKG_TEST_DIR)/again linux-x86_64 2>/dev/null
	@cd $(PKG_TEST_DIR)/linux-x86_64 && sha256sum * > ../SHA256SUMS && cd ../again && sha256sum -c --quiet ../SHA256SUMS \
	  && echo "packages: the same $$(wc -l < ../SHA256SUMS) files, byte for byte, when made again"
	bash tests/packages/test-packages.sh $(PKG_TEST_DIR)/linux-x86_64 linux-x86_64

# The dev profile in $(TARGET_DIR), the target dir of `make build`: the dependencies are already
# compiled there, so only the crate itself is compiled again (as the cdylib setuptools-rust asks
# for; it lands as $(LIB), the same code). A user's `pip install` builds the release profile.
test-python-source: build
	CARGO_TARGET_DIR=$(TARGET_DIR) SETUPTOOLS_RUST_CARGO_PROFILE=dev bash tests/packages/test-packages.sh --python-source

test-packages: build dist
	bash tests/packages/test-packages.sh $(or $(DIST_DIR),$(CURDIR)/dist) \
	  $(or $(DIST_PLATFORMS),$(shell bash tests/platforms/platforms.sh list))

EXTRA_TESTS += test-packages-x86_64 test-python-source
