## The PHP binding (bindings/php): lint every PHP file, then run its phpunit suite (Debian's
## phpunit 9.6) against $(LIB), the local token server and a real php-fpm pool
## (ffi.preload + opcache.preload + FFI::scope).
PHP_DIR  := $(CURDIR)/bindings/php
PHP      ?= php
PHPUNIT  ?= phpunit

.PHONY: test-php
test-php: build deps
	@find $(PHP_DIR) -name '*.php' -not -path '*/vendor/*' -print0 | sort -z | \
	  xargs -0 -n1 $(PHP) -l >/dev/null
	@$(PHP) -l $(PHP_DIR)/bin/flexiti-auth-ffi-header >/dev/null
	FLEXITI_AUTH_LIB=$(LIB) FLX_TOKEN_SERVER=$(TOKEN_SERVER) $(PHPUNIT) -c $(PHP_DIR)/phpunit.xml

## The same suite from a copy of the checkout below a 0700 directory: what a php-fpm pool reads
## must not come from the checkout (its user cannot read a private clone).
.PHONY: test-php-private
test-php-private: build deps
	PHPUNIT=$(PHPUNIT) bash $(PHP_DIR)/tests/private-checkout.sh $(LIB) $(TOKEN_SERVER)

## A self-contained copy of the package, with the header and the library beside it
## (a Composer "path" repository, or zip it as an "artifact" one).
PHP_PKG_DIR := $(BUILD_DIR)/php-package/flexiti-auth
.PHONY: php-package
php-package: build
	@rm -rf $(PHP_PKG_DIR) && mkdir -p $(PHP_PKG_DIR)/include $(PHP_PKG_DIR)/lib
	cp -R $(PHP_DIR)/composer.json $(PHP_DIR)/README.md $(PHP_DIR)/autoload.php $(PHP_DIR)/preload.php \
	  $(PHP_DIR)/src $(PHP_DIR)/bin $(PHP_PKG_DIR)/
	cp include/flexiti_auth_php.h $(PHP_PKG_DIR)/include/
	cp $(LIB) $(PHP_PKG_DIR)/lib/libflexiti_auth.so
	@echo "PHP package: $(PHP_PKG_DIR)"

EXTRA_TESTS += test-php test-php-private
