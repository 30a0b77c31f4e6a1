<?php
/*
 * Section 6 of the benchmark: the token inside a real php-fpm pool (pm=static, 8 workers,
 * ffi.preload + opcache.preload as the binding's README documents), driven over FastCGI by 8
 * concurrent connections (bindings/php/tests/Support: FpmPool, FastCgi). Each request times its
 * variants itself (bench/fpm_worker.php); samples are per request, a worker's first request of a
 * mode (which gets the worker's token) excluded. Timings are taken with one request at a time (so
 * they measure the request's own cost, not 8 workers queueing on 2 CPUs); the token request
 * counts with 8 concurrent connections.
 *
 *   php fpm.php LIB TOKEN_SERVER_URL NGINX_HTTPS_URL NGINX_CA [requests]
 *
 * Prints JSON result lines (bench/report.py, section 6):
 *   fpm.cached.{guide,persistent,persistent_opts,new_client}  ns, token server, token held
 *   fpm.refresh.{guide,persistent,new_client}                 µs, loopback nginx over HTTPS
 *   fpm.count.{cached,mixed}[.store]                           token requests per 1,000 FPM requests
 */

declare(strict_types=1);

$repo = dirname(__DIR__);
require $repo . '/bindings/php/autoload.php';
foreach (['PoolFiles', 'FpmPool', 'FastCgi'] as $support) {
    require_once "$repo/bindings/php/tests/Support/$support.php";
}

use Flexiti\Auth\Tests\Support\FastCgi;
use Flexiti\Auth\Tests\Support\FpmPool;

[$lib, $tokenServer, $nginxUrl, $nginxCa] = array_slice($argv, 1, 4);
$n = (int) ($argv[5] ?? 2000);
const WORKERS = 8;

function control(string $url, string $method, string $path): array
{
    $ch = curl_init($url . '_control/' . $path);
    curl_setopt_array($ch, [CURLOPT_CUSTOMREQUEST => $method, CURLOPT_RETURNTRANSFER => true, CURLOPT_PROXY => '', CURLOPT_NOPROXY => '*']);
    $body = (string) curl_exec($ch);
    curl_close($ch);

    return (array) json_decode($body, true);
}

/** @return list<array<string, mixed>> */
function drive(FpmPool $pool, array $paramsList, int $concurrency): array
{
    $answers = [];
    foreach (FastCgi::run($pool->socket, $paramsList, $concurrency, 600) as $raw) {
        $a = json_decode($raw['body'], true);
        if (!is_array($a) || isset($a['error'])) {
            // An exception, not exit(): the finally below stops the pool.
            throw new RuntimeException('fpm bench: bad answer: ' . $raw['body'] . $raw['stderr'] . $pool->logs());
        }
        $answers[] = $a;
    }

    return $answers;
}

function emit(string $id, string $unit, array $samples): void
{
    echo json_encode(['id' => $id, 'unit' => $unit, 'samples' => array_values($samples)]), "\n";
}

$pool = FpmPool::start($lib, WORKERS);
// The worker script needs the guide's flow beside it.
$pool->script(__DIR__ . '/reference_flow.php');
$script = $pool->script(__DIR__ . '/fpm_worker.php');
$params = static fn (string $script, string $mode, string $url, string $ca, int $seq, string $flow = 'cached', string $store = ''): array => FpmPool::params($script, [
    'BENCH_MODE' => $mode, 'BENCH_URL' => $url, 'BENCH_CA' => $ca, 'BENCH_SEQ' => (string) $seq, 'BENCH_FLOW' => $flow, 'BENCH_STORE' => $store,
]);

control($tokenServer, 'POST', 'reset'); // no fault left by an earlier section
try {
    // Cached: the project's token server gives each worker its token on its first request.
    foreach (['cached' => [$tokenServer, '', 1], 'refresh' => [$nginxUrl, $nginxCa, 1000]] as $mode => [$url, $ca, $scale]) {
        $list = [];
        $count = $mode === 'cached' ? $n : max(100, intdiv($n, 5));
        for ($i = 0; $i < $count; $i++) {
            $list[] = $params($script, $mode, $url, $ca, $i);
        }
        $samples = [];
        foreach (drive($pool, $list, 1) as $a) {
            if (!$a['warm']) {
                continue; // the worker's first request: it got the token (and opened the connection)
            }
            foreach ($a as $k => $v) {
                if (!in_array($k, ['pid', 'warm'], true)) {
                    $samples[$k][] = $v / $scale;
                }
            }
        }
        foreach ($samples as $variant => $s) {
            emit("fpm.$mode.$variant", $mode === 'cached' ? 'ns' : 'µs', $s);
        }
    }

    // Token requests per 1,000 FPM requests, across the 8 workers, counted at the token server:
    // all price-calculator requests, then one purchase (a refresh) in ten; each in a new pool
    // (no worker holds a token yet), without and with a token_store (refresh_min_age_secs=60).
    $pool->stop();
    $pool->remove();
    foreach (['', '.store'] as $variant) {
        foreach (['cached' => 0, 'mixed' => 10] as $workload => $every) {
            $pool = FpmPool::start($lib, WORKERS);
            $pool->script(__DIR__ . '/reference_flow.php');
            $script = $pool->script(__DIR__ . '/fpm_worker.php');
            $store = '';
            if ($variant !== '') {
                $store = "{$pool->dir}/token-store"; // 0700, the pool user's alone
                mkdir($store, 0700);
                if (function_exists('posix_geteuid') && posix_geteuid() === 0) {
                    chown($store, $pool->user);
                    chgrp($store, $pool->user);
                }
                $store = "file:$store";
            }
            control($tokenServer, 'POST', 'reset');
            $list = [];
            for ($i = 0; $i < 1000; $i++) {
                $list[] = $params($script, 'count', $tokenServer, '', $i, $every > 0 && $i % $every === $every - 1 ? 'purchase' : 'cached', $store);
            }
            $answers = drive($pool, $list, WORKERS);
            $server = control($tokenServer, 'GET', 'stats');
            emit("fpm.count.$workload$variant", 'requests', [$server['token_requests']]);
            emit("fpm.count.$workload$variant.workers", 'workers', [count(array_unique(array_column($answers, 'pid')))]);
            $pool->remove();
        }
    }
} finally {
    $pool->remove();
}
