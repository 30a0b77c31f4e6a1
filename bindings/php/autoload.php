<?php

/*
 * PSR-4 autoloader for Flexiti\Auth\ when the package is used without Composer
 * (with Composer, require vendor/autoload.php instead).
 */

declare(strict_types=1);

spl_autoload_register(static function (string $class): void {
    $prefix = 'Flexiti\\Auth\\';
    if (strncmp($class, $prefix, strlen($prefix)) !== 0) {
        return;
    }
    $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
