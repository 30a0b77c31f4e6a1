# C++ wrapper, C/C++ examples, install with pkg-config. Included by the top Makefile, which
# defines CARGO, PROFILE, TARGET_DIR, LIB_DIR, LIB, BUILD_DIR, CC, CXX, TOKEN_SERVER and `build`.
#
#   make examples                          build/examples/pos_terminal and pos_terminal_cpp
#   make install [PREFIX=/usr/local] [DESTDIR=] [INSTALL_PROFILE=release]
#   make uninstall [PREFIX=...] [DESTDIR=]
#   make test-cpp                          the C++ wrapper suite, the examples against the server
#   make test-install                      install into a temporary prefix, build with pkg-config
#
# Why not cargo-c: it would have to be compiled first (`cargo install cargo-c`, a long build of a
# few hundred crates on two cores), it rebuilds the library into its own target directory (a
# second LTO build), and it would pass its own -soname next to the one build.rs already sets.
# What is left to do — copy three files, two symlinks and a generated .pc — is the rule below.

PREFIX          ?= /usr/local
DESTDIR         ?=
LIBDIR          ?= $(PREFIX)/lib
INCLUDEDIR      ?= $(PREFIX)/include
PKGCONFIGDIR    ?= $(LIBDIR)/pkgconfig
INSTALL_PROFILE ?= release
RUSTC           ?= rustc
PKG_CONFIG      ?= pkg-config

FLX_VERSION     := $(shell sed -n 's/^version *= *"\([^"]*\)".*/\1/p' $(CURDIR)/Cargo.toml | head -n 1)
FLX_SOMAJOR     := $(firstword $(subst ., ,$(FLX_VERSION)))
FLX_DESCRIPTION := $(shell sed -n 's/^description *= *"\([^"]*\)".*/\1/p' $(CURDIR)/Cargo.toml | head -n 1)
INSTALL_LIB_DIR := $(TARGET_DIR)/$(INSTALL_PROFILE)
EXAMPLES_DIR    := $(BUILD_DIR)/examples

# What a static link against libflexiti_auth.a needs besides it (rustc's own list for this
# target; the library's dependencies add no system library of their own).
FLX_NATIVE_STATIC_FALLBACK := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
flx_native_static_libs = $(or $(shell d=$$(mktemp -d) && echo '' | $(RUSTC) --crate-type staticlib --crate-name flx_probe \
  --print native-static-libs -o $$d/libflx_probe.a - 2>&1 | sed -n 's/^note: native-static-libs: //p'; rm -rf "$$d"),$(FLX_NATIVE_STATIC_FALLBACK))

# ${prefix}-relative paths in the .pc when the directories are under PREFIX.
flx_pc_path = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

CXX_STRICT := -std=c++17 -Wall -Wextra -Werror -pedantic -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast
LINK_LOCAL := -L $(LIB_DIR) -lflexiti_auth -Wl,-rpath,$(LIB_DIR)
VALGRIND_FLAGS := --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible \
  --errors-for-leak-kinds=definite,indirect,possible

.PHONY: examples install uninstall test-cpp test-install

examples: build
	@mkdir -p $(EXAMPLES_DIR)
	$(CC) -std=c99 -Wall -Wextra -Werror -pedantic -I include -o $(EXAMPLES_DIR)/pos_terminal examples/pos_terminal.c $(LINK_LOCAL)
	$(CXX) $(CXX_STRICT) -I include -o $(EXAMPLES_DIR)/pos_terminal_cpp examples/pos_terminal.cpp $(LINK_LOCAL)
	@echo "examples: $(EXAMPLES_DIR)/pos_terminal $(EXAMPLES_DIR)/pos_terminal_cpp"
	@echo "  run one against a local token server: tests/support/run-with-token-server.sh $(EXAMPLES_DIR)/pos_terminal /tmp/pos-session.json"

## install: the cargo build of INSTALL_PROFILE (release unless told), then the files. When cargo
## is not on PATH (sudo make install) the artifacts already built are installed as they are.
install:
	@if command -v $(CARGO) >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory build PROFILE=$(INSTALL_PROFILE); \
	elif [ -f $(INSTALL_LIB_DIR)/libflexiti_auth.so ]; then \
	  echo "install: $(CARGO) not found, installing the existing $(INSTALL_PROFILE) build"; \
	else \
	  echo "install: no $(INSTALL_LIB_DIR)/libflexiti_auth.so and no $(CARGO) to build it: run 'make build PROFILE=$(INSTALL_PROFILE)' first" >&2; exit 1; \
	fi
	@soname=$$(readelf -d $(INSTALL_LIB_DIR)/libflexiti_auth.so 2>/dev/null | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p' || true); \
	if command -v readelf >/dev/null && [ "$$soname" != "libflexiti_auth.so.$(FLX_SOMAJOR)" ]; then \
	  echo "install: $(INSTALL_LIB_DIR)/libflexiti_auth.so has soname '$$soname', expected libflexiti_auth.so.$(FLX_SOMAJOR)" >&2; exit 1; \
	fi
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 0755 $(INSTALL_LIB_DIR)/libflexiti_auth.so $(DESTDIR)$(LIBDIR)/libflexiti_auth.so.$(FLX_VERSION)
	ln -sfn libflexiti_auth.so.$(FLX_VERSION) $(DESTDIR)$(LIBDIR)/libflexiti_auth.so.$(FLX_SOMAJOR)
	ln -sfn libflexiti_auth.so.$(FLX_SOMAJOR) $(DESTDIR)$(LIBDIR)/libflexiti_auth.so
	install -m 0644 $(INSTALL_LIB_DIR)/libflexiti_auth.a $(DESTDIR)$(LIBDIR)/libflexiti_auth.a
	install -m 0644 include/flexiti_auth.h include/flexiti_auth.hpp include/flexiti_auth_php.h $(DESTDIR)$(INCLUDEDIR)/
	@printf '%s\n' \
	  'prefix=$(PREFIX)' \
	  'exec_prefix=$${prefix}' \
	  'libdir=$(call flx_pc_path,$(LIBDIR))' \
	  'includedir=$(call flx_pc_path,$(INCLUDEDIR))' \
	  '' \
	  'Name: flexiti_auth' \
	  'Description: $(FLX_DESCRIPTION)' \
	  'Version: $(FLX_VERSION)' \
	  'Libs: -L$${libdir} -lflexiti_auth' \
	  'Libs.private: $(flx_native_static_libs)' \
	  'Cflags: -I$${includedir}' > $(DESTDIR)$(PKGCONFIGDIR)/flexiti_auth.pc
	@chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/flexiti_auth.pc
	@echo "installed flexiti_auth $(FLX_VERSION) ($(INSTALL_PROFILE) build) under $(DESTDIR)$(PREFIX)"
	@echo "  pkg-config file: $(DESTDIR)$(PKGCONFIGDIR)/flexiti_auth.pc (run ldconfig if $(LIBDIR) is a system library directory)"

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libflexiti_auth.so.$(FLX_VERSION) $(DESTDIR)$(LIBDIR)/libflexiti_auth.so.$(FLX_SOMAJOR) \
	  $(DESTDIR)$(LIBDIR)/libflexiti_auth.so $(DESTDIR)$(LIBDIR)/libflexiti_auth.a \
	  $(DESTDIR)$(INCLUDEDIR)/flexiti_auth.h $(DESTDIR)$(INCLUDEDIR)/flexiti_auth.hpp \
	  $(DESTDIR)$(INCLUDEDIR)/flexiti_auth_php.h $(DESTDIR)$(PKGCONFIGDIR)/flexiti_auth.pc

## test-cpp: the wrapper from C++11 up (tests/cpp/test_standards.sh: the header clean as C++11,
## 14, 17 and 20 and refusing C++98; its suite built as C++11, C++14 and C++17 by g++ and clang++,
## each run against the token server, one under valgrind; the C header as C99 and C++98), then
## the examples against the server.
test-cpp: build examples
	@mkdir -p $(BUILD_DIR)
	bash tests/cpp/test_standards.sh $(LIB_DIR) $(BUILD_DIR) $(FLX_VERSION)
	bash tests/cpp/test_examples.sh $(EXAMPLES_DIR)/pos_terminal $(EXAMPLES_DIR)/pos_terminal_cpp

test-install: build
	MAKE="$(MAKE)" INSTALL_PROFILE=$(PROFILE) FLX_VERSION=$(FLX_VERSION) bash tests/install/test_install.sh

EXTRA_TESTS += test-cpp test-install
