<?php

declare(strict_types=1);

namespace Flexiti\Auth;

use Flexiti\Auth\Exception\LibraryLoadException;

/**
 * Finds and loads libflexiti_auth through PHP FFI (internal: use TokenClient).
 *
 * Where the library comes from, first match wins:
 *  1. an explicit path: the "library" option, else the FLEXITI_AUTH_LIB environment variable
 *     (when given, it must load: no other place is tried after it);
 *  2. the FFI scope "FLEXITI_AUTH" declared at startup by ffi.preload (PHP-FPM: loaded once by
 *     the master, shared by every worker and request; see preload.php); skipped when the
 *     "header" option is given;
 *  3. a copy inside the package: first the one built for this platform,
 *     <package>/lib/<platform>/<name> (the Composer artifact of `make dist` holds one per platform:
 *     linux-x86_64, linux-i686, linux-aarch64, windows-x86_64, ...; see platform()), then
 *     <package>/lib/<name>; <name> is the FFI_LIB file name for this OS (libflexiti_auth.so,
 *     flexiti_auth.dll, libflexiti_auth.dylib);
 *  4. the system loader (dlopen search path: ld.so.cache, /usr/lib, ...) with the FFI_LIB name
 *     from the PHP header.
 * Steps 1, 3 and 4 read the declarations from the PHP header (flexiti_auth_php.h): the "header"
 * option, else FLEXITI_AUTH_HEADER, else <package>/include/flexiti_auth_php.h, else the
 * repository's include/flexiti_auth_php.h (<package>/../../include).
 *
 * Every loaded library is kept for the rest of the request (CLI: the process), so clients share
 * one FFI instance per path.
 *
 * @internal
 */
final class Library
{
    public const SCOPE = 'FLEXITI_AUTH';
    public const LIB_ENV = 'FLEXITI_AUTH_LIB';
    public const HEADER_ENV = 'FLEXITI_AUTH_HEADER';
    public const HEADER_NAME = 'flexiti_auth_php.h';

    /** @var array<string, array{0: \FFI, 1: array<string, string|null>}> */
    private static array $loaded = [];

    /** @var array{0: \FFI, 1: array<string, string|null>}|null */
    private static ?array $default = null;

    private function __construct()
    {
    }

    /**
     * @return array{0: \FFI, 1: array{source: string, path: string|null, header: string|null}}
     *
     * @throws LibraryLoadException
     */
    public static function load(?string $library = null, ?string $header = null): array
    {
        $useDefault = ($library === null || $library === '') && ($header === null || $header === '');
        if ($useDefault && self::$default !== null) {
            return self::$default;
        }
        if (!extension_loaded('ffi')) {
            throw new LibraryLoadException(
                'cannot load libflexiti_auth: the PHP FFI extension (ext-ffi) is not loaded; '
                . 'install/enable it (Debian: it ships with php8.x-common, extension=ffi)',
                ['ext-ffi: not loaded']
            );
        }
        $loaded = self::resolve($library, $header);
        if ($useDefault) {
            self::$default = $loaded;
        }

        return $loaded;
    }

    /**
     * A library already loaded in this request (the first one), else the default one (load()).
     *
     * @return array{0: \FFI, 1: array{source: string, path: string|null, header: string|null}}
     *
     * @throws LibraryLoadException
     */
    public static function any(): array
    {
        foreach (self::$loaded as $loaded) {
            return $loaded;
        }

        return self::load();
    }

    /**
     * @return array{0: \FFI, 1: array{source: string, path: string|null, header: string|null}}
     */
    private static function resolve(?string $library, ?string $header): array
    {
        $tried = [];
        $restricted = null;

        // 1. An explicit path.
        $explicit = null;
        $explicitSource = null;
        if ($library !== null && $library !== '') {
            [$explicit, $explicitSource] = [$library, 'option "library"'];
        } else {
            $env = getenv(self::LIB_ENV);
            if (is_string($env) && $env !== '') {
                [$explicit, $explicitSource] = [$env, 'env ' . self::LIB_ENV];
            }
        }
        if ($explicit !== null) {
            if (!is_file($explicit)) {
                throw self::failure(["$explicitSource = $explicit: no such file"], true);
            }
            $path = realpath($explicit) ?: $explicit;
            try {
                return self::cdef($path, $header, $explicitSource === 'option "library"' ? 'option' : 'env');
            } catch (LibraryLoadException $e) {
                $detail = $e->getTried() === [] ? '' : ' (' . implode('; ', $e->getTried()) . ')';
                throw self::failure(["$explicitSource = $path: " . $e->getMessage() . $detail], true, $e);
            }
        }
        $tried[] = 'option "library": not set';
        $tried[] = 'env ' . self::LIB_ENV . ': not set';

        // 2. The scope declared at startup (ffi.preload, or FFI::load in an opcache.preload script).
        if ($header === null || $header === '') {
            try {
                $ffi = \FFI::scope(self::SCOPE);
                $info = ['source' => 'scope', 'path' => null, 'header' => null];

                return self::$loaded['scope:' . self::SCOPE] ??= [$ffi, $info];
            } catch (\FFI\Exception $e) {
                if (self::isRestriction($e)) {
                    $restricted = $e;
                }
                $tried[] = 'FFI::scope("' . self::SCOPE . '"): ' . self::describe($e);
            }
        }

        // 3 and 4 read the header.
        try {
            [$headerPath, $code, $ffiLib] = self::header($header);
        } catch (LibraryLoadException $e) {
            throw self::failure(array_merge($tried, $e->getTried()), false, $restricted ?? $e);
        }

        // 3. A copy inside the package: this platform's, then a plain one.
        $copies = [];
        $platform = self::platform();
        if ($platform !== null) {
            $copies[] = self::packageDir() . '/lib/' . $platform . '/' . basename($ffiLib);
        } else {
            $tried[] = 'package copy for this platform: none built for ' . PHP_OS_FAMILY . ' ' . php_uname('m')
                . ' with ' . (PHP_INT_SIZE * 8) . '-bit PHP';
        }
        $copies[] = self::packageDir() . '/lib/' . basename($ffiLib);
        foreach ($copies as $copy) {
            if (!is_file($copy)) {
                $tried[] = "package copy $copy: no such file";
                continue;
            }
            try {
                return self::cdefCode(realpath($copy) ?: $copy, $headerPath, $code, 'package');
            } catch (LibraryLoadException $e) {
                $tried[] = "package copy $copy: " . $e->getMessage();
            }
        }

        // 4. The system loader, with the header's FFI_LIB.
        try {
            return self::cdefCode($ffiLib, $headerPath, $code, 'system');
        } catch (LibraryLoadException $e) {
            $tried[] = "system loader \"$ffiLib\" (FFI_LIB of $headerPath): " . $e->getMessage();
        }

        throw self::failure($tried, false, $restricted);
    }

    /** @return array{0: \FFI, 1: array{source: string, path: string|null, header: string|null}} */
    private static function cdef(string $path, ?string $header, string $source): array
    {
        [$headerPath, $code] = self::header($header);

        return self::cdefCode($path, $headerPath, $code, $source);
    }

    /** @return array{0: \FFI, 1: array{source: string, path: string|null, header: string|null}} */
    private static function cdefCode(string $path, string $headerPath, string $code, string $source): array
    {
        $key = $path . "\0" . $headerPath;
        if (isset(self::$loaded[$key])) {
            return self::$loaded[$key];
        }
        try {
            $ffi = \FFI::cdef($code, $path);
        } catch (\FFI\Exception | \FFI\ParserException $e) {
            throw new LibraryLoadException(self::describe($e), [], $e);
        }
        $info = ['source' => $source, 'path' => $path, 'header' => $headerPath];

        return self::$loaded[$key] = [$ffi, $info];
    }

    /**
     * The header's path, its declarations without the FFI_SCOPE/FFI_LIB lines (FFI::cdef takes
     * plain C), and its FFI_LIB.
     *
     * @return array{0: string, 1: string, 2: string}
     */
    private static function header(?string $header): array
    {
        $candidates = [];
        if ($header !== null && $header !== '') {
            $candidates[] = ['option "header"', $header, true];
        } else {
            $env = getenv(self::HEADER_ENV);
            if (is_string($env) && $env !== '') {
                $candidates[] = ['env ' . self::HEADER_ENV, $env, true];
            } else {
                $candidates[] = ['package header', self::packageDir() . '/include/' . self::HEADER_NAME, false];
                $candidates[] = ['repository header', dirname(self::packageDir(), 2) . '/include/' . self::HEADER_NAME, false];
            }
        }
        $tried = [];
        foreach ($candidates as [$what, $path, $explicit]) {
            $text = is_file($path) ? @file_get_contents($path) : false;
            if ($text === false) {
                $tried[] = "$what $path: " . (is_file($path) ? 'not readable' : 'no such file');
                if ($explicit) {
                    break;
                }
                continue;
            }
            $ffiLib = 'libflexiti_auth.so';
            if (preg_match('/^[ \t]*#[ \t]*define[ \t]+FFI_LIB[ \t]+"([^"]+)"/m', $text, $m) === 1) {
                $ffiLib = $m[1];
            }
            // The repository's header names the Linux file; pick this platform's own name.
            if ($ffiLib === 'libflexiti_auth.so') {
                $ffiLib = match (PHP_OS_FAMILY) {
                    'Windows' => 'flexiti_auth.dll',
                    'Darwin' => 'libflexiti_auth.dylib',
                    default => $ffiLib,
                };
            }
            $code = (string) preg_replace('/^[ \t]*#[ \t]*define[ \t]+FFI_(SCOPE|LIB)\b.*$/m', '', $text);

            return [realpath($path) ?: $path, $code, $ffiLib];
        }

        throw new LibraryLoadException('no PHP header ' . self::HEADER_NAME . ' found', $tried);
    }

    /**
     * This process's platform, as `make dist` names its builds (the directories under lib/ of
     * the Composer artifact): "linux-x86_64", "linux-i686", "linux-aarch64", "windows-x86_64",
     * "windows-i686"; null for any other. The word size is PHP's own (PHP_INT_SIZE), so a 32-bit
     * PHP on a 64-bit kernel gets the 32-bit library.
     */
    public static function platform(): ?string
    {
        $machine = strtolower(php_uname('m'));
        $arch = match (true) {
            in_array($machine, ['x86_64', 'amd64', 'x64', 'i386', 'i486', 'i586', 'i686', 'x86'], true)
                => PHP_INT_SIZE === 8 ? 'x86_64' : 'i686',
            in_array($machine, ['aarch64', 'arm64', 'armv8', 'armv8l'], true) => PHP_INT_SIZE === 8 ? 'aarch64' : null,
            default => null,
        };
        $os = match (PHP_OS_FAMILY) {
            'Linux' => 'linux',
            'Windows' => 'windows',
            default => null,
        };

        return $arch === null || $os === null ? null : "$os-$arch";
    }

    private static function packageDir(): string
    {
        return dirname(__DIR__);
    }

    private static function isRestriction(\Throwable $e): bool
    {
        return stripos($e->getMessage(), 'ffi.enable') !== false;
    }

    private static function describe(\Throwable $e): string
    {
        $message = $e->getMessage();
        if (self::isRestriction($e)) {
            $message .= ' (under PHP-FPM ffi.enable=preload allows FFI only in preloaded code: '
                . 'preload the binding with opcache.preload=<package>/preload.php; see the README)';
        }

        return $message;
    }

    /** @param list<string> $tried */
    private static function failure(array $tried, bool $explicit, ?\Throwable $previous = null): LibraryLoadException
    {
        $message = 'cannot load libflexiti_auth; tried: ' . implode('; ', $tried);
        if ($explicit) {
            $message .= ' (an explicit path is used alone: fix or unset it)';
        } else {
            $message .= '. Install the Composer artifact of `make dist` (it holds the library for each platform), set the "library" option or '
                . self::LIB_ENV . ' to the .so path, copy it to ' . self::packageDir() . '/lib/' . (self::platform() ?? '') . ', or preload it with ffi.preload (see the README)';
        }

        return new LibraryLoadException($message, $tried, $previous);
    }
}
