<?php

declare(strict_types=1);

namespace Flexiti\Auth\Tests\Support;

/**
 * A real php-fpm pool (pm=static) set up the way bindings/php/README.md documents for
 * production: ffi.preload of a header with an absolute FFI_LIB, opcache.preload of the binding's
 * preload.php (with opcache.preload_user when the master runs as root), ffi.enable=preload.
 * Everything the pool reads is staged by PoolFiles in a 0755 temporary directory (a checkout
 * below a 0700 directory stays unreadable to the pool user). Requests go through FastCgi.
 *
 *     $pool = FpmPool::start($library, 8);
 *     $script = $pool->script(__DIR__ . '/fpm/persistent_worker.php');
 *     $answers = FastCgi::run($pool->socket, $requests, 8);
 *     $pool->stop();
 *
 * Also used by bench/fpm.php.
 */
final class FpmPool
{
    public string $dir;

    public string $socket;

    /** a directory every worker may write (mode 0777) */
    public string $state;

    public int $masterPid;

    /** the pool's user: www-data when the master runs as root, else the current user */
    public string $user;

    public PoolFiles $files;

    /** @var resource|null */
    private $process = null;

    private function __construct()
    {
    }

    /**
     * @param array<string, string> $ini extra php.ini lines (name => value)
     */
    public static function start(string $library, int $workers, array $ini = []): self
    {
        $fpm = getenv('PHP_FPM') ?: '/usr/sbin/php-fpm' . PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION;
        if (!is_executable($fpm)) {
            throw new \RuntimeException("php-fpm is needed ($fpm; Debian: php-fpm); set PHP_FPM to use another binary");
        }
        $pool = new self();
        $pool->dir = PoolFiles::tempDir('flexiti-fpm-pool');
        $pool->files = PoolFiles::stage($pool->dir, $library);
        $pool->socket = "{$pool->dir}/fpm.sock";
        $pool->state = "{$pool->dir}/state";
        mkdir($pool->state);
        chmod($pool->state, 0777);

        $root = function_exists('posix_geteuid') ? posix_geteuid() === 0 : trim((string) shell_exec('id -u')) === '0';
        $pool->user = $root ? 'www-data' : (string) (function_exists('posix_getpwuid') ? posix_getpwuid(posix_geteuid())['name'] : get_current_user());

        $lines = [
            'ffi.enable' => 'preload',
            'ffi.preload' => $pool->files->header,
            'opcache.enable' => '1',
            'opcache.preload' => $pool->files->preload,
            'log_errors' => '1',
            'display_errors' => '0',
            'error_log' => "{$pool->dir}/php-error.log",
        ];
        if ($root) {
            $lines['opcache.preload_user'] = $pool->user;
        }
        $text = '';
        foreach ($lines + $ini as $name => $value) {
            $text .= "$name = $value\n";
        }
        file_put_contents("{$pool->dir}/php.ini", $text);

        $conf = implode("\n", array_filter([
            '[global]',
            "pid = {$pool->dir}/fpm.pid",
            "error_log = {$pool->dir}/fpm.log",
            'log_level = notice',
            'daemonize = no',
            '[flexiti]',
            $root ? "user = {$pool->user}" : null,
            $root ? "group = {$pool->user}" : null,
            "listen = {$pool->socket}",
            'listen.mode = 0666',
            'listen.backlog = 511',
            'pm = static',
            "pm.max_children = $workers",
            'clear_env = yes',
            'catch_workers_output = yes',
        ])) . "\n";
        file_put_contents("{$pool->dir}/fpm.conf", $conf);

        $process = proc_open(
            [$fpm, '--nodaemonize', '--fpm-config', "{$pool->dir}/fpm.conf", '--php-ini', "{$pool->dir}/php.ini"],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', "{$pool->dir}/fpm.out", 'w'], 2 => ['file', "{$pool->dir}/fpm.out", 'a']],
            $pipes,
            $pool->dir,
            ['PATH' => (string) getenv('PATH')]
        );
        if (!is_resource($process)) {
            throw new \RuntimeException('cannot start php-fpm');
        }
        $pool->process = $process;
        $deadline = microtime(true) + 15;
        while (microtime(true) < $deadline) {
            if (!proc_get_status($process)['running']) {
                $pool->stop();
                throw new \RuntimeException('php-fpm exited at startup' . $pool->logs());
            }
            if (file_exists($pool->socket) && strpos((string) @file_get_contents("{$pool->dir}/fpm.log"), 'ready to handle connections') !== false) {
                $pool->masterPid = (int) proc_get_status($process)['pid'];
                // pm=static forks every worker at startup; wait until all of them are there.
                while (count($pool->workerPids()) < $workers && microtime(true) < $deadline) {
                    usleep(20000);
                }

                return $pool;
            }
            usleep(20000);
        }
        $logs = $pool->logs();
        $pool->stop();
        throw new \RuntimeException('php-fpm did not become ready in 15 s' . $logs);
    }

    /** Copies a request script into the stage; returns its SCRIPT_FILENAME. */
    public function script(string $source): string
    {
        return $this->files->script($source);
    }

    /**
     * FastCGI params of a GET of $script with $extra params (which the script reads in $_SERVER).
     *
     * @param array<string, string> $extra
     *
     * @return array<string, string>
     */
    public static function params(string $script, array $extra = []): array
    {
        return [
            'SCRIPT_FILENAME' => $script,
            'SCRIPT_NAME' => '/' . basename($script),
            'REQUEST_URI' => '/' . basename($script),
            'REQUEST_METHOD' => 'GET',
            'QUERY_STRING' => '',
            'SERVER_PROTOCOL' => 'HTTP/1.1',
            'GATEWAY_INTERFACE' => 'CGI/1.1',
            'SERVER_NAME' => 'localhost',
            'SERVER_PORT' => '80',
            'REMOTE_ADDR' => '127.0.0.1',
        ] + $extra;
    }

    /** @return list<int> the pool's worker processes (the master's children) */
    public function workerPids(): array
    {
        $pids = [];
        foreach ((array) glob('/proc/[0-9]*/stat') as $stat) {
            $text = (string) @file_get_contents((string) $stat);
            $fields = explode(' ', substr($text, (int) strrpos($text, ')') + 2));
            if (isset($fields[1]) && (int) $fields[1] === ($this->masterPid ?? -1)) {
                $pids[] = (int) basename(dirname((string) $stat));
            }
        }
        sort($pids);

        return $pids;
    }

    /** A pool never outlives the object that started it (a test or bench that fails half-way). */
    public function __destruct()
    {
        $this->stop();
    }

    public function stop(): void
    {
        if (is_resource($this->process)) {
            proc_terminate($this->process, 15); // SIGTERM: the master stops its workers and exits
            $deadline = microtime(true) + 5;
            while (proc_get_status($this->process)['running'] && microtime(true) < $deadline) {
                usleep(20000);
            }
            if (proc_get_status($this->process)['running']) {
                proc_terminate($this->process, 9);
            }
            proc_close($this->process);
            $this->process = null;
        }
    }

    /** Removes the pool's directory (after stop()). */
    public function remove(): void
    {
        $this->stop();
        if (isset($this->dir) && $this->dir !== '') {
            exec('rm -rf ' . escapeshellarg($this->dir));
        }
    }

    public function logs(): string
    {
        $text = '';
        foreach (['fpm.out', 'fpm.log', 'php-error.log'] as $name) {
            $file = "{$this->dir}/$name";
            if (is_file($file)) {
                $text .= "\n--- $name ---\n" . (string) file_get_contents($file);
            }
        }

        return $text;
    }
}
