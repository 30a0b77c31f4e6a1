<?php

declare(strict_types=1);

namespace Flexiti\Auth\Tests;

use Flexiti\Auth\Tests\Support\PoolFiles;
use Flexiti\Auth\Tests\Support\TokenServer;
use Flexiti\Auth\Tests\Support\TokenServerTestCase;

/**
 * The binding under a real PHP-FPM pool (Debian's php-fpm, PHP's default ffi.enable=preload):
 * ffi.preload loads the library in the master at startup, opcache.preload loads the binding's
 * classes, request code reaches the library through FFI::scope("FLEXITI_AUTH"). Two FastCGI
 * requests (cgi-fcgi) to the one worker of a pm=static pool show that the library is mapped
 * before either request starts, at the master's address, and never loaded again. What the pool
 * reads (binding, header, library, request script) is staged in the test's own directory by
 * PoolFiles, so the test passes from a checkout the pool user cannot read.
 */
final class FpmTest extends TokenServerTestCase
{
    private string $tmp = '';

    private ?PoolFiles $files = null;

    private string $worker = '';

    /** @var resource|null */
    private $fpm = null;

    protected function tearDown(): void
    {
        $this->stopFpm();
        if ($this->tmp !== '') {
            exec('rm -rf ' . escapeshellarg($this->tmp));
        }
    }

    public function testTwoRequestsToOneWorkerReuseTheLibraryLoadedByTheMaster(): void
    {
        $master = $this->startFpm();

        $first = $this->request();
        $second = $this->request();

        foreach ([$first, $second] as $i => $r) {
            self::assertArrayNotHasKey('error', $r, "request $i failed: " . json_encode($r) . $this->logs());
            self::assertSame('fpm-fcgi', $r['sapi']);
            self::assertTrue($r['ffi_restricted'], 'plain request code may not use FFI: the pool runs with ffi.enable=preload');
            self::assertTrue($r['binding_preloaded'], 'the binding classes come from opcache.preload, not an autoloader');
            self::assertSame('scope', $r['library_source'], 'the library comes from FFI::scope("FLEXITI_AUTH")');
            self::assertNotNull($r['lib_base_at_start'], 'the library was mapped before the request ran any code');
            self::assertSame(1, $r['lib_paths_at_start']);
            self::assertSame($r['lib_base_at_start'], $r['lib_base_at_end'], 'the request did not load it again');
            self::assertSame(1, $r['lib_paths_at_end']);
        }

        // One worker served both: the same process, its first and its second request.
        self::assertSame($first['pid'], $second['pid']);
        self::assertSame(1, $first['request_in_process']);
        self::assertSame(2, $second['request_in_process']);
        self::assertSame($first['lib_base_at_start'], $second['lib_base_at_start']);

        // The worker is the master's child and maps the library where the master loaded it.
        self::assertNotSame($master, $first['pid']);
        $stat = (string) file_get_contents("/proc/{$first['pid']}/stat");
        self::assertSame($master, (int) explode(' ', substr($stat, (int) strrpos($stat, ')') + 2))[1], 'the worker is a child of the master');
        self::assertSame($first['lib_base_at_start'], self::libraryBase((string) file_get_contents("/proc/$master/maps")), 'the master loaded the library at startup');

        // The binding worked in both requests: a new token, then its refresh from the stored session.
        $requests = self::server()->requests();
        self::assertSame(['client_credentials', 'refresh_token'], self::server()->grantTypes());
        self::assertSame(self::server()->issued()['access_tokens'], [$first['access_token'], $second['access_token']]);
        self::assertSame(self::server()->issued()['refresh_tokens'][0], $requests[1]['form']['refresh_token']);
        self::assertSame(
            (string) json_decode((string) file_get_contents("{$this->tmp}/state/session.json"), true)['token']['access_token'],
            $second['access_token']
        );
    }

    /** @return int the master's pid */
    private function startFpm(): int
    {
        $fpm = getenv('PHP_FPM') ?: '/usr/sbin/php-fpm' . PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION;
        self::assertFileExists($fpm, 'php-fpm is needed (Debian: php-fpm); set PHP_FPM to use another binary');
        self::assertNotNull(self::cgiFcgi(), 'cgi-fcgi is needed (Debian: libfcgi-bin)');

        // Nothing the pool reads comes from the checkout, which its user may not be able to read.
        $this->tmp = PoolFiles::tempDir('flexiti-fpm');
        $this->files = PoolFiles::stage($this->tmp, (string) getenv('FLEXITI_AUTH_LIB'));
        $this->worker = $this->files->script(__DIR__ . '/fpm/worker.php');
        mkdir("{$this->tmp}/state");
        chmod("{$this->tmp}/state", 0777); // the worker's user writes its counter and the session here

        $root = function_exists('posix_geteuid') ? posix_geteuid() === 0 : trim((string) shell_exec('id -u')) === '0';
        $user = 'www-data';

        // The library: loaded by the master at startup through a header with an absolute FFI_LIB.
        $header = $this->files->header;

        $ini = implode("\n", array_filter([
            'ffi.enable = preload',
            "ffi.preload = $header",
            'opcache.enable = 1',
            "opcache.preload = {$this->files->preload}",
            $root ? "opcache.preload_user = $user" : null,
            'log_errors = 1',
            'display_errors = 0',
            "error_log = {$this->tmp}/php-error.log",
        ])) . "\n";
        file_put_contents("{$this->tmp}/php.ini", $ini);

        $conf = implode("\n", array_filter([
            '[global]',
            "pid = {$this->tmp}/fpm.pid",
            "error_log = {$this->tmp}/fpm.log",
            'log_level = notice',
            'daemonize = no',
            '[flexiti]',
            $root ? "user = $user" : null,
            $root ? "group = $user" : null,
            "listen = {$this->tmp}/fpm.sock",
            'pm = static',
            'pm.max_children = 1',
            'clear_env = yes',
            'catch_workers_output = yes',
        ])) . "\n";
        file_put_contents("{$this->tmp}/fpm.conf", $conf);

        $process = proc_open(
            [$fpm, '--nodaemonize', '--fpm-config', "{$this->tmp}/fpm.conf", '--php-ini', "{$this->tmp}/php.ini"],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', "{$this->tmp}/fpm.out", 'w'], 2 => ['file', "{$this->tmp}/fpm.out", 'a']],
            $pipes,
            $this->tmp,
            ['PATH' => (string) getenv('PATH')]
        );
        self::assertIsResource($process);
        $this->fpm = $process;

        $deadline = microtime(true) + 15;
        while (microtime(true) < $deadline) {
            if (!proc_get_status($process)['running']) {
                self::fail('php-fpm exited at startup' . $this->logs());
            }
            if (file_exists("{$this->tmp}/fpm.sock") && strpos((string) @file_get_contents("{$this->tmp}/fpm.log"), 'ready to handle connections') !== false) {
                return (int) proc_get_status($process)['pid'];
            }
            usleep(20000);
        }
        self::fail('php-fpm did not become ready in 15 s' . $this->logs());
    }

    private function stopFpm(): void
    {
        if (!is_resource($this->fpm)) {
            return;
        }
        proc_terminate($this->fpm, 15); // SIGTERM: the master stops its workers and exits
        $deadline = microtime(true) + 5;
        while (proc_get_status($this->fpm)['running'] && microtime(true) < $deadline) {
            usleep(20000);
        }
        if (proc_get_status($this->fpm)['running']) {
            proc_terminate($this->fpm, 9);
        }
        proc_close($this->fpm);
        $this->fpm = null;
    }

    /** @return array<string, mixed> the worker's JSON answer */
    private function request(): array
    {
        $env = [
            'SCRIPT_FILENAME' => $this->worker,
            'SCRIPT_NAME' => '/worker.php',
            'REQUEST_URI' => '/worker.php',
            'REQUEST_METHOD' => 'GET',
            'QUERY_STRING' => '',
            'SERVER_PROTOCOL' => 'HTTP/1.1',
            'GATEWAY_INTERFACE' => 'CGI/1.1',
            'SERVER_NAME' => 'localhost',
            'FLX_API_URL' => self::server()->url(),
            'FLX_CLIENT_ID' => TokenServer::CLIENT_ID,
            'FLX_CLIENT_SECRET' => TokenServer::CLIENT_SECRET,
            'FLX_STATE_DIR' => "{$this->tmp}/state",
        ];
        $process = proc_open(
            [(string) self::cgiFcgi(), '-bind', '-connect', "{$this->tmp}/fpm.sock"],
            [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']],
            $pipes,
            $this->tmp,
            $env
        );
        self::assertIsResource($process);
        stream_set_blocking($pipes[1], false);
        stream_set_blocking($pipes[2], false);
        $out = '';
        $err = '';
        $deadline = microtime(true) + 15;
        while (!feof($pipes[1]) && microtime(true) < $deadline) {
            $read = [$pipes[1], $pipes[2]];
            $none = null;
            if (stream_select($read, $none, $none, 0, 200000) > 0) {
                $out .= (string) fread($pipes[1], 65536);
                $err .= (string) fread($pipes[2], 65536);
            }
        }
        $timedOut = !feof($pipes[1]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        if ($timedOut) {
            proc_terminate($process, 9);
        }
        $rc = proc_close($process);
        self::assertFalse($timedOut, 'the FastCGI request did not finish in 15 s' . $this->logs());
        self::assertSame(0, $rc, "cgi-fcgi failed: $err" . $this->logs());

        $parts = preg_split("/\r?\n\r?\n/", $out, 2);
        $body = $parts[1] ?? '';
        $answer = json_decode($body, true);
        self::assertIsArray($answer, "not JSON from the worker: $out" . $this->logs());
        self::assertStringNotContainsString(TokenServer::CLIENT_SECRET, $out);

        return $answer;
    }

    private static function cgiFcgi(): ?string
    {
        foreach (explode(PATH_SEPARATOR, (string) getenv('PATH')) as $dir) {
            if ($dir !== '' && is_executable("$dir/cgi-fcgi")) {
                return "$dir/cgi-fcgi";
            }
        }

        return null;
    }

    private static function libraryBase(string $maps): ?string
    {
        $base = null;
        foreach (explode("\n", $maps) as $line) {
            if (strpos($line, 'libflexiti_auth') !== false) {
                $start = explode('-', $line)[0];
                if ($base === null || hexdec($start) < hexdec($base)) {
                    $base = $start;
                }
            }
        }

        return $base;
    }

    private function logs(): string
    {
        $text = '';
        foreach (['fpm.out', 'fpm.log', 'php-error.log'] as $name) {
            $file = "{$this->tmp}/$name";
            if (is_file($file)) {
                $text .= "\n--- $name ---\n" . (string) file_get_contents($file);
            }
        }

        return $text;
    }
}
