<?php

/*
 * PHPUnit bootstrap: the binding's autoloader, the test helpers, and the environment every
 * test relies on. Expects FLX_TOKEN_SERVER (the flexiti-token-server binary) and FLEXITI_AUTH_LIB
 * (libflexiti_auth.so), which `make test-php` exports; without them, the repository's
 * target/debug build is used.
 */

declare(strict_types=1);

require __DIR__ . '/../autoload.php';

spl_autoload_register(static function (string $class): void {
    $prefix = 'Flexiti\\Auth\\Tests\\';
    if (strncmp($class, $prefix, strlen($prefix)) === 0) {
        $file = __DIR__ . '/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});

// Environment proxies apply to loopback too (the library reads them when "proxy" is not set).
foreach (['http_proxy', 'https_proxy', 'all_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'no_proxy', 'NO_PROXY'] as $flexitiVar) {
    putenv($flexitiVar);
}

$flexitiRepo = dirname(__DIR__, 3);
foreach (['FLX_TOKEN_SERVER' => '/target/debug/flexiti-token-server', 'FLEXITI_AUTH_LIB' => '/target/debug/libflexiti_auth.so'] as $flexitiVar => $flexitiDefault) {
    $flexitiValue = getenv($flexitiVar);
    if (!is_string($flexitiValue) || $flexitiValue === '') {
        putenv("$flexitiVar=$flexitiRepo$flexitiDefault");
    }
    if (!is_file((string) getenv($flexitiVar))) {
        fwrite(STDERR, "tests/bootstrap.php: $flexitiVar=" . getenv($flexitiVar) . " does not exist: run `make build` first\n");
        exit(1);
    }
}
unset($flexitiRepo, $flexitiVar, $flexitiDefault, $flexitiValue);
