<?php

declare(strict_types=1);

namespace Flexiti\Auth\Tests;

use Flexiti\Auth\Exception\LibraryLoadException;
use Flexiti\Auth\FfiHeader;
use Flexiti\Auth\Library;
use Flexiti\Auth\Tests\Support\TokenServer;
use Flexiti\Auth\Tests\Support\TokenServerTestCase;
use Flexiti\Auth\TokenClient;

/**
 * Where the library is found, without LD_LIBRARY_PATH: explicit path (option, env), FFI scope
 * (ffi.preload), a copy beside the package, the system loader; and the error naming every place
 * tried. Each case runs in a fresh PHP process with a controlled environment.
 */
final class LibraryLoadingTest extends TokenServerTestCase
{
    private static string $tmp;

    public static function setUpBeforeClass(): void
    {
        parent::setUpBeforeClass();
        self::$tmp = sys_get_temp_dir() . '/flexiti-php-lib-' . getmypid() . '-' . bin2hex(random_bytes(4));
        mkdir(self::$tmp, 0700);
    }

    public static function tearDownAfterClass(): void
    {
        self::removeTree(self::$tmp);
        parent::tearDownAfterClass();
    }

    public function testAnExplicitPathThatDoesNotExistIsNamedAndUsedAlone(): void
    {
        $missing = self::$tmp . '/nowhere/libflexiti_auth.so';
        try {
            new TokenClient(self::server()->url(), 'id', 'secret', ['library' => $missing]);
            self::fail('expected LibraryLoadException');
        } catch (LibraryLoadException $e) {
            self::assertSame(0, $e->getCode());
            self::assertStringContainsString('option "library" = ' . $missing . ': no such file', $e->getMessage());
            self::assertStringContainsString('explicit path is used alone', $e->getMessage());
            self::assertStringNotContainsString('system loader', $e->getMessage());
        }

        $r = self::runChild(['FLEXITI_AUTH_LIB' => $missing], 'info');
        self::assertSame(LibraryLoadException::class, $r['error']);
        self::assertStringContainsString('env FLEXITI_AUTH_LIB = ' . $missing . ': no such file', $r['message']);
    }

    public function testAFileThatIsNotALibraryIsReported(): void
    {
        $fake = self::$tmp . '/libfake.so';
        file_put_contents($fake, "not an ELF file\n");
        $r = self::runChild(['FLEXITI_AUTH_LIB' => $fake], 'info');
        self::assertSame(LibraryLoadException::class, $r['error']);
        self::assertStringContainsString("env FLEXITI_AUTH_LIB = $fake: Failed loading", $r['message']);
    }

    public function testTheEnvironmentVariableLoadsTheLibrary(): void
    {
        $r = self::runChild(['FLEXITI_AUTH_LIB' => (string) getenv('FLEXITI_AUTH_LIB')], 'token', self::server()->url());
        self::assertSame('env', $r['info']['source'] ?? null, json_encode($r) ?: '');
        self::assertSame(realpath((string) getenv('FLEXITI_AUTH_LIB')), $r['info']['path']);
        self::assertSame(self::server()->issued()['access_tokens'], [$r['token']]);
    }

    public function testWithNothingFoundTheErrorNamesEveryPlaceTried(): void
    {
        $r = self::runChild([], 'info');
        self::assertSame(LibraryLoadException::class, $r['error'] ?? null, json_encode($r) ?: '');
        $package = dirname(__DIR__);
        foreach ([
            'option "library": not set',
            'env FLEXITI_AUTH_LIB: not set',
            'FFI::scope("FLEXITI_AUTH")',
            "package copy $package/lib/" . Library::platform() . "/libflexiti_auth.so: no such file",
            "package copy $package/lib/libflexiti_auth.so: no such file",
            'system loader "libflexiti_auth.so"',
        ] as $place) {
            self::assertStringContainsString($place, $r['message']);
        }
        // The platform's copy (lib/<platform>/, as in the Composer artifact) is tried before lib/.
        self::assertSame(6, count($r['tried']));
    }

    public function testACopyBesideThePackageIsFound(): void
    {
        $package = self::$tmp . '/package';
        self::copyTree(dirname(__DIR__) . '/src', "$package/src");
        copy(dirname(__DIR__) . '/autoload.php', "$package/autoload.php");
        mkdir("$package/lib");
        mkdir("$package/include");
        copy((string) getenv('FLEXITI_AUTH_LIB'), "$package/lib/libflexiti_auth.so");
        copy(dirname(__DIR__, 3) . '/include/flexiti_auth_php.h', "$package/include/flexiti_auth_php.h");

        $r = self::runChild([], 'token', self::server()->url(), $package);
        self::assertSame('package', $r['info']['source'] ?? null, json_encode($r) ?: '');
        self::assertSame("$package/lib/libflexiti_auth.so", $r['info']['path']);
        self::assertSame("$package/include/flexiti_auth_php.h", $r['info']['header']);
        self::assertSame(self::server()->issued()['access_tokens'], [$r['token']]);
    }

    public function testThePlatformsCopyInsideThePackageComesFirst(): void
    {
        $platform = Library::platform();
        self::assertNotNull($platform, 'the suite runs on a platform that `make dist` builds for');
        $other = $platform === 'linux-aarch64' ? 'linux-x86_64' : 'linux-aarch64';
        $package = self::$tmp . '/package-platform';
        self::copyTree(dirname(__DIR__) . '/src', "$package/src");
        copy(dirname(__DIR__) . '/autoload.php', "$package/autoload.php");
        mkdir("$package/lib/$platform", 0777, true);
        mkdir("$package/lib/$other", 0777, true);
        mkdir("$package/include");
        copy((string) getenv('FLEXITI_AUTH_LIB'), "$package/lib/$platform/libflexiti_auth.so");
        // Another platform's library and a plain lib/ copy that is not a library at all: neither is
        // touched when this platform's copy loads.
        file_put_contents("$package/lib/$other/libflexiti_auth.so", 'not for this machine');
        file_put_contents("$package/lib/libflexiti_auth.so", 'not a library');
        copy(dirname(__DIR__, 3) . '/include/flexiti_auth_php.h', "$package/include/flexiti_auth_php.h");

        $r = self::runChild([], 'token', self::server()->url(), $package);
        self::assertSame('package', $r['info']['source'] ?? null, json_encode($r) ?: '');
        self::assertSame("$package/lib/$platform/libflexiti_auth.so", $r['info']['path']);
        self::assertSame(self::server()->issued()['access_tokens'], [$r['token']]);
    }

    public function testTheSystemLoaderIsAskedForTheHeadersFfiLib(): void
    {
        $dir = self::$tmp . '/syslib';
        mkdir($dir);
        symlink((string) getenv('FLEXITI_AUTH_LIB'), "$dir/libflexiti_auth.so");
        // LD_LIBRARY_PATH stands in for ld.so.cache here: the binding itself never needs it.
        $r = self::runChild(['LD_LIBRARY_PATH' => $dir], 'info');
        self::assertSame('system', $r['info']['source'] ?? null, json_encode($r) ?: '');
        self::assertSame('libflexiti_auth.so', $r['info']['path']);
    }

    public function testAGeneratedHeaderWithAnAbsoluteFfiLibNeedsNoOtherSetting(): void
    {
        $header = self::$tmp . '/flexiti_auth.h';
        $out = [];
        exec(escapeshellarg(PHP_BINARY) . ' ' . escapeshellarg(dirname(__DIR__) . '/bin/flexiti-auth-ffi-header') . ' '
            . escapeshellarg((string) getenv('FLEXITI_AUTH_LIB')) . ' > ' . escapeshellarg($header), $out, $rc);
        self::assertSame(0, $rc);
        $text = (string) file_get_contents($header);
        self::assertStringStartsWith("#define FFI_SCOPE \"FLEXITI_AUTH\"\n#define FFI_LIB \"" . realpath((string) getenv('FLEXITI_AUTH_LIB')) . "\"\n", $text);
        self::assertSame($text, FfiHeader::withLibrary((string) getenv('FLEXITI_AUTH_LIB')));

        $r = self::runChild(['FLEXITI_AUTH_HEADER' => $header], 'info');
        self::assertSame('system', $r['info']['source'] ?? null, json_encode($r) ?: '');
        self::assertSame(realpath((string) getenv('FLEXITI_AUTH_LIB')), $r['info']['path']);
        self::assertSame($header, $r['info']['header']);

        // The same header through ffi.preload: the library comes from the FFI scope.
        $r = self::runChild([], 'token', self::server()->url(), null, ['-d', "ffi.preload=$header"]);
        self::assertSame('scope', $r['info']['source'] ?? null, json_encode($r) ?: '');
        self::assertNull($r['info']['path']);
        self::assertSame(self::server()->issued()['access_tokens'], [$r['token']]);

        self::assertInstanceOf(LibraryLoadException::class, self::thrown(static fn () => FfiHeader::withLibrary('/nonexistent/lib.so')));
    }

    public function testAMissingHeaderIsNamed(): void
    {
        $r = self::runChild(['FLEXITI_AUTH_LIB' => (string) getenv('FLEXITI_AUTH_LIB'), 'FLEXITI_AUTH_HEADER' => self::$tmp . '/none.h'], 'info');
        self::assertSame(LibraryLoadException::class, $r['error'] ?? null);
        self::assertStringContainsString('no PHP header flexiti_auth_php.h found', $r['message']);
        self::assertStringContainsString('env FLEXITI_AUTH_HEADER ' . self::$tmp . '/none.h: no such file', $r['message']);
    }

    public function testWithoutTheFfiExtensionTheErrorSaysSo(): void
    {
        $r = self::runChild(['FLEXITI_AUTH_LIB' => (string) getenv('FLEXITI_AUTH_LIB')], 'info', null, null, ['-n']);
        self::assertSame(LibraryLoadException::class, $r['error'] ?? null, json_encode($r) ?: '');
        self::assertStringContainsString('ext-ffi', $r['message']);
    }

    /**
     * Runs the binding in a fresh PHP process whose environment holds only PATH, HOME and $env.
     *
     * @param array<string, string> $env
     * @param list<string>          $phpArgs
     *
     * @return array<string, mixed>
     */
    private static function runChild(array $env, string $what, ?string $url = null, ?string $package = null, array $phpArgs = []): array
    {
        $package ??= dirname(__DIR__);
        $code = sprintf(
            'require %s; use Flexiti\Auth\TokenClient; try { $o = ["info" => TokenClient::libraryInfo()]; '
            . 'if (%s === "token") { $o["token"] = (new TokenClient(%s, %s, %s, ["max_retries" => 0]))->getAccessToken(); } '
            . 'echo json_encode($o); } catch (\Throwable $e) { echo json_encode(["error" => get_class($e), "message" => $e->getMessage(), '
            . '"tried" => method_exists($e, "getTried") ? $e->getTried() : null]); }',
            var_export("$package/autoload.php", true),
            var_export($what, true),
            var_export((string) $url, true),
            var_export(TokenServer::CLIENT_ID, true),
            var_export(TokenServer::CLIENT_SECRET, true)
        );
        $env += ['PATH' => (string) getenv('PATH'), 'HOME' => (string) getenv('HOME')];
        $process = proc_open(array_merge([PHP_BINARY], $phpArgs, ['-r', $code]), [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env);
        self::assertIsResource($process);
        $out = (string) stream_get_contents($pipes[1]);
        $err = (string) stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        proc_close($process);
        $decoded = json_decode($out, true);
        self::assertIsArray($decoded, "child printed: $out $err");

        return $decoded;
    }

    private static function thrown(callable $f): \Throwable
    {
        try {
            $f();
        } catch (\Throwable $e) {
            return $e;
        }
        self::fail('expected an exception');
    }

    private static function copyTree(string $from, string $to): void
    {
        mkdir($to, 0700, true);
        foreach (new \RecursiveIteratorIterator(new \RecursiveDirectoryIterator($from, \FilesystemIterator::SKIP_DOTS), \RecursiveIteratorIterator::SELF_FIRST) as $item) {
            $target = $to . substr($item->getPathname(), strlen($from));
            $item->isDir() ? mkdir($target) : copy($item->getPathname(), $target);
        }
    }

    private static function removeTree(string $dir): void
    {
        if (!is_dir($dir) || is_link($dir)) {
            return;
        }
        foreach (new \RecursiveIteratorIterator(new \RecursiveDirectoryIterator($dir, \FilesystemIterator::SKIP_DOTS), \RecursiveIteratorIterator::CHILD_FIRST) as $item) {
            $item->isDir() && !$item->isLink() ? rmdir($item->getPathname()) : unlink($item->getPathname());
        }
        rmdir($dir);
    }
}
