<?php

/*
 * opcache.preload script of the flexiti/auth binding, for PHP-FPM.
 *
 * Under PHP-FPM, ffi.enable=preload (PHP's default) lets only preloaded code use FFI, so every
 * class of the binding is compiled and linked here, once, by the FPM master. The library itself
 * is loaded at startup by ffi.preload (a header whose FFI_LIB is an absolute path, made with
 * bin/flexiti-auth-ffi-header); request code then finds it with FFI::scope("FLEXITI_AUTH"),
 * without reloading it. php.ini (or the pool's php_admin_value):
 *
 *   ffi.enable = preload
 *   ffi.preload = /etc/php/flexiti_auth.h
 *   opcache.enable = 1
 *   opcache.preload = /path/to/vendor/flexiti/auth/preload.php
 *   opcache.preload_user = www-data        ; needed when the master runs as root (Debian)
 *
 * FFI::load() is not called here on purpose: with opcache.preload_user and a root master, PHP
 * runs this script in a forked child where FFI::load() refuses to work.
 */

declare(strict_types=1);

require_once __DIR__ . '/autoload.php';

$flexitiAuthSrc = __DIR__ . '/src';
$flexitiAuthFiles = new RecursiveIteratorIterator(new RecursiveDirectoryIterator($flexitiAuthSrc, FilesystemIterator::SKIP_DOTS));
foreach ($flexitiAuthFiles as $flexitiAuthFile) {
    if ($flexitiAuthFile->getExtension() !== 'php') {
        continue;
    }
    $flexitiAuthClass = 'Flexiti\\Auth\\' . str_replace('/', '\\', substr($flexitiAuthFile->getPathname(), strlen($flexitiAuthSrc) + 1, -4));
    if (!class_exists($flexitiAuthClass)) {
        trigger_error("flexiti/auth preload: class $flexitiAuthClass not found in {$flexitiAuthFile->getPathname()}", E_USER_WARNING);
    }
}

try {
    FFI::scope('FLEXITI_AUTH');
} catch (Throwable $flexitiAuthError) {
    trigger_error(
        'flexiti/auth preload: no FFI scope FLEXITI_AUTH (' . $flexitiAuthError->getMessage() . '); set ffi.preload to a '
        . 'flexiti_auth_php.h with an absolute FFI_LIB, else each request loads the library itself',
        E_USER_WARNING
    );
}
unset($flexitiAuthSrc, $flexitiAuthFiles, $flexitiAuthFile, $flexitiAuthClass, $flexitiAuthError);
