<?php

declare(strict_types=1);

namespace Flexiti\Auth;

use Flexiti\Auth\Exception\LibraryLoadException;

/**
 * Makes the PHP header for ffi.preload: the package's flexiti_auth_php.h with FFI_LIB set to an
 * absolute path, so the PHP-FPM master loads the library at startup without LD_LIBRARY_PATH and
 * without the library being on the system loader's path. (bin/flexiti-auth-ffi-header prints it.)
 */
final class FfiHeader
{
    private function __construct()
    {
    }

    /**
     * @param string      $libraryPath path of libflexiti_auth.so (made absolute)
     * @param string|null $headerPath  the header to start from (default: found as the binding does)
     *
     * @throws LibraryLoadException the library file or the header does not exist
     */
    public static function withLibrary(string $libraryPath, ?string $headerPath = null): string
    {
        $lib = realpath($libraryPath);
        if ($lib === false || !is_file($lib)) {
            throw new LibraryLoadException("no library file at $libraryPath", ["$libraryPath: no such file"]);
        }
        if (strpbrk($lib, "\"\\\n\r") !== false) {
            throw new LibraryLoadException("the library path $lib holds a quote, backslash or newline, which FFI_LIB cannot express");
        }
        $text = self::read($headerPath);
        $text = (string) preg_replace('/^[ \t]*#[ \t]*define[ \t]+FFI_LIB\b.*$/m', '', $text, -1, $count);
        $text = (string) preg_replace('/^[ \t]*#[ \t]*define[ \t]+FFI_SCOPE\b.*$\n?/m', '', $text);

        return '#define FFI_SCOPE "' . Library::SCOPE . "\"\n"
            . '#define FFI_LIB "' . $lib . "\"\n"
            . ltrim($text, "\n");
    }

    private static function read(?string $headerPath): string
    {
        $candidates = $headerPath !== null
            ? [$headerPath]
            : array_filter([
                getenv(Library::HEADER_ENV) ?: null,
                dirname(__DIR__) . '/include/' . Library::HEADER_NAME,
                dirname(__DIR__, 3) . '/include/' . Library::HEADER_NAME,
            ]);
        foreach ($candidates as $candidate) {
            if (is_file($candidate) && ($text = file_get_contents($candidate)) !== false) {
                return $text;
            }
        }
        throw new LibraryLoadException('no PHP header ' . Library::HEADER_NAME . ' found', array_map(
            static fn (string $c): string => "$c: no such file",
            array_values($candidates)
        ));
    }
}
