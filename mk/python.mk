## The Python binding (bindings/python): install the package into a virtualenv under build/,
## with pytest, then run its suite against $(LIB) and the local token server. (Its installs with
## the library inside -- from source and from a wheel -- are tested by mk/packages.mk.)
PYTHON        ?= python3
PY_DIR        := $(CURDIR)/bindings/python
PY_VENV       := $(BUILD_DIR)/python-venv
PY_VENV_PY    := $(PY_VENV)/bin/python

.PHONY: test-python
test-python: build deps
	@if [ ! -x $(PY_VENV_PY) ]; then \
	  $(PYTHON) -m venv $(PY_VENV) 2>/dev/null || { \
	    echo "python venv unavailable: installing python3-venv"; \
	    if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3-venv >/dev/null; \
	    rm -rf $(PY_VENV); $(PYTHON) -m venv $(PY_VENV); }; \
	fi
	@$(PY_VENV_PY) -c "import pytest" 2>/dev/null || $(PY_VENV_PY) -m pip install -q --disable-pip-version-check pytest
	@# The pure-Python part alone (no cargo build): this suite loads $(LIB) through FLEXITI_AUTH_LIB.
	@# `pip install ./bindings/python` with its Rust build is test-python-source (mk/packages.mk).
	FLEXITI_AUTH_PURE_WHEEL=1 $(PY_VENV_PY) -m pip install -q --disable-pip-version-check --force-reinstall --no-deps $(PY_DIR)
	@rm -rf $(PY_DIR)/build $(PY_DIR)/src/*.egg-info
	cd $(PY_DIR) && FLEXITI_AUTH_LIB=$(LIB) FLX_TOKEN_SERVER=$(TOKEN_SERVER) \
	  $(PY_VENV_PY) -m pytest -q -p no:cacheprovider tests

EXTRA_TESTS += test-python
