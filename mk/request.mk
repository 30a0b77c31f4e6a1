## flx_request (authenticated POS-API calls) from strict C99, then under valgrind (zero errors,
## zero leaks). Included by the top Makefile.
.PHONY: test-c-request
test-c-request: build
	@mkdir -p $(BUILD_DIR)
	$(CC) $(C_FLAGS) -o $(BUILD_DIR)/test_request tests/c/test_request.c tests/c/harness.c -L $(LIB_DIR) -lflexiti_auth -Wl,-rpath,$(LIB_DIR) -lpthread
	$(BUILD_DIR)/test_request
	@if command -v valgrind >/dev/null; then \
	  valgrind --quiet --error-exitcode=99 --suppressions=tests/c/valgrind.supp --leak-check=full --show-leak-kinds=definite,indirect,possible \
	    --errors-for-leak-kinds=definite,indirect,possible $(BUILD_DIR)/test_request; \
	fi

EXTRA_TESTS += test-c-request
