<?php

declare(strict_types=1);

namespace Flexiti\Auth\Tests\Support;

use Flexiti\Auth\FfiHeader;
use RecursiveDirectoryIterator;
use RecursiveIteratorIterator;

/**
 * What a php-fpm pool reads, staged in a test's own temporary directory with modes its user can
 * read.
 *
 * A pool's preload script (opcache.preload with opcache.preload_user) and its request scripts run
 * as the pool user (www-data when the master is root), who cannot read a checkout below a 0700
 * directory (a private clone, /root, any 0700 home). So a test that starts a pool never points it
 * into the checkout: it stages a copy of the binding as a package (preload.php, autoload.php,
 * src/, include/flexiti_auth_php.h, lib/libflexiti_auth.so), an ffi.preload header whose FFI_LIB is
 * the staged library, and its request scripts, and points the pool there.
 *
 *     $tmp = PoolFiles::tempDir('flexiti-fpm');           // 0755, reachable by every user
 *     $files = PoolFiles::stage($tmp, (string) getenv('FLEXITI_AUTH_LIB'));
 *     // php.ini:  ffi.preload = $files->header   opcache.preload = $files->preload
 *     $script = $files->script(__DIR__ . '/fpm/worker.php');   // SCRIPT_FILENAME of a request
 *
 * Directories are made 0755, files 0644 (the library 0755), whatever the umask. tempDir() refuses
 * a base directory the pool user could not traverse, so the test fails with the reason instead of
 * with php-fpm's "Failed opening required".
 */
final class PoolFiles
{
    /** the stage: <dir>/flexiti-auth, the binding laid out as a package */
    public string $package;

    /** the staged opcache.preload script */
    public string $preload;

    /** the staged library */
    public string $library;

    /** the ffi.preload header: the package's PHP header with FFI_LIB set to $library */
    public string $header;

    /** where script() puts request scripts */
    public string $scripts;

    private function __construct()
    {
    }

    /**
     * A fresh directory for one test, mode 0755, below a directory every user can traverse:
     * sys_get_temp_dir() when it is, else /tmp.
     */
    public static function tempDir(string $prefix): string
    {
        $bases = array_unique([rtrim(sys_get_temp_dir(), '/') ?: '/', '/tmp']);
        foreach ($bases as $base) {
            if (is_dir($base) && self::traversableByAll($base)) {
                $dir = $base . '/' . $prefix . '-' . getmypid() . '-' . bin2hex(random_bytes(4));
                if (!mkdir($dir, 0755) || !chmod($dir, 0755)) {
                    throw new \RuntimeException("cannot make $dir");
                }

                return $dir;
            }
        }
        throw new \RuntimeException(
            'no temporary directory every user can traverse (tried ' . implode(', ', $bases) . '): '
            . 'a php-fpm pool user could not read files staged there'
        );
    }

    /**
     * Stages the binding, its header and $library under $dir (which tempDir() made).
     *
     * @param string $library path of libflexiti_auth.so to copy
     */
    public static function stage(string $dir, string $library): self
    {
        $binding = dirname(__DIR__, 2);
        $files = new self();
        $files->package = $dir . '/flexiti-auth';
        $files->preload = $files->package . '/preload.php';
        $files->library = $files->package . '/lib/libflexiti_auth.so';
        $files->header = $files->package . '/include/flexiti_auth_php.h';
        $files->scripts = $dir . '/www';

        foreach ([$files->package, "{$files->package}/lib", "{$files->package}/include", $files->scripts] as $d) {
            self::mkdir($d);
        }
        foreach (['preload.php', 'autoload.php', 'composer.json'] as $name) {
            self::copy("$binding/$name", "{$files->package}/$name", 0644);
        }
        self::copyTree("$binding/src", "{$files->package}/src");
        self::copy($library, $files->library, 0755);
        self::write($files->header, FfiHeader::withLibrary($files->library));

        return $files;
    }

    /** Copies a request script into the stage; returns its path (a request's SCRIPT_FILENAME). */
    public function script(string $source): string
    {
        $target = $this->scripts . '/' . basename($source);
        self::copy($source, $target, 0644);

        return $target;
    }

    /** Every directory from / down to $path has the others' execute bit. */
    public static function traversableByAll(string $path): bool
    {
        $path = realpath($path);
        if ($path === false) {
            return false;
        }
        for (; ; $path = dirname($path)) {
            $mode = @fileperms($path);
            if ($mode === false || ($mode & 0001) === 0) {
                return false;
            }
            if ($path === '/' || $path === dirname($path)) {
                return true;
            }
        }
    }

    private static function copyTree(string $from, string $to): void
    {
        self::mkdir($to);
        $items = new RecursiveIteratorIterator(
            new RecursiveDirectoryIterator($from, RecursiveDirectoryIterator::SKIP_DOTS),
            RecursiveIteratorIterator::SELF_FIRST
        );
        foreach ($items as $item) {
            $target = $to . substr($item->getPathname(), strlen($from));
            if ($item->isDir()) {
                self::mkdir($target);
            } else {
                self::copy($item->getPathname(), $target, 0644);
            }
        }
    }

    private static function mkdir(string $dir): void
    {
        if (!is_dir($dir) && !mkdir($dir, 0755, true)) {
            throw new \RuntimeException("cannot make $dir");
        }
        chmod($dir, 0755);
    }

    private static function copy(string $from, string $to, int $mode): void
    {
        if (!copy($from, $to)) {
            throw new \RuntimeException("cannot copy $from to $to");
        }
        chmod($to, $mode);
    }

    private static function write(string $file, string $text): void
    {
        if (file_put_contents($file, $text) !== strlen($text)) {
            throw new \RuntimeException("cannot write $file");
        }
        chmod($file, 0644);
    }
}
