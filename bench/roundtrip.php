<?php
/*
 * A token request round trip through PHP, against the loopback nginx (fixed token answer):
 *   ffi        the library through raw FFI: flx_get_access_token($c, false) forces a request
 *              (a refresh) each call; its connection stays open
 *   tc         the same through the binding: TokenClient->getAccessToken(false)
 *   floor      one curl handle reused (connection kept alive), form POST, json_decode
 *   guide      the guide's getFlexitiToken(false): a new curl handle per call (a new TCP
 *              connection, and over HTTPS a full TLS handshake), json_decode, session set
 * Batches run in pairs: within a pair every variant runs once, the order rotating pair by pair,
 * so drift and noise fall on all of them alike; per-pair ratios are emitted too.
 * Besides wall time per call, the CPU time (user + system) this PHP process spent per call: the
 * client's own work, whatever the wake-up latencies between the two processes.
 * CPU placement (2 cores): "split" pins this process and the nginx worker to different CPUs and
 * swaps them pair by pair; "shared" pins both to the same CPU, alternating CPU 0 and 1.
 * Usage: php roundtrip.php LIB URL CA|- PAIRS N_FAST N_GUIDE LABEL NGINX_WORKER_PID split|shared
 */

declare(strict_types=1);

require_once __DIR__ . '/php_common.php';

[, $lib, $url, $ca, $pairs, $nFast, $nGuide, $label, $worker, $placement] = $argv + [null, null, null, '-', 15, 300, 50, 'x', 0, 'split'];
$worker = (int) $worker;
$place = static function (int $r) use ($worker, $placement): void {
    if ($worker <= 0) {
        return;
    }
    $cpu = $r % 2;
    bench_pin(0, $cpu);
    bench_pin($worker, $placement === 'shared' ? $cpu : 1 - $cpu);
};
$ca = $ca === '-' ? null : $ca;
[$pairs, $nFast, $nGuide] = [(int) $pairs, (int) $nFast, (int) $nGuide];
$clientId = 'bench-client';
$secret = 'bench-secret';
$tokenUrl = $url . 'flexiti/online-api/oauth/token';

$ffi = bench_ffi($lib);
$c = $ffi->flx_client_new($url, $clientId, $secret);
foreach (['proxy' => 'none', 'ca_file' => $ca] as $name => $value) {
    if ($value !== null && $ffi->flx_client_set_option($c, $name, $value) !== 0) {
        fwrite(STDERR, "option $name: " . $ffi->flx_last_error_message() . "\n");
        exit(2);
    }
}

$session = new GuideSession();
$flow = new GuideTokenFlow($session, ['api_url' => $url, 'clientid' => $clientId, 'clientsecret' => $secret], $ca);
$flow->getFlexitiToken(false); // client_credentials once: from now on every call is a refresh
$floor = new KeptAliveCurl($tokenUrl, $ca);
$refresh = str_repeat('R', 64);

$variants = [
    'ffi' => static function (int $n) use ($ffi, $c): void {
        for ($i = 0; $i < $n; $i++) {
            $p = $ffi->flx_get_access_token($c, false);
            if ($p === null) {
                throw new RuntimeException('flx_get_access_token: ' . $ffi->flx_last_error_message());
            }
            $t = FFI::string($p);
            $ffi->flx_string_free($p);
        }
    },
    'floor' => static function (int $n) use ($floor, $refresh, $clientId, $secret): void {
        for ($i = 0; $i < $n; $i++) {
            $t = $floor->refresh($refresh, $clientId, $secret);
        }
    },
    'guide' => static function (int $n) use ($flow): void {
        for ($i = 0; $i < $n; $i++) {
            $t = $flow->getFlexitiToken(false)->access_token;
        }
    },
];
try {
    require_once bench_repo() . '/bindings/php/autoload.php';
    $tc = new Flexiti\Auth\TokenClient($url, $clientId, $secret, ['library' => $lib, 'proxy' => 'none'] + ($ca ? ['ca_file' => $ca] : []));
    $tc->getAccessToken(false);
    $variants['tc'] = static function (int $n) use ($tc): void {
        for ($i = 0; $i < $n; $i++) {
            $t = $tc->getAccessToken(false);
        }
    };
} catch (Throwable $e) {
    fwrite(STDERR, 'PHP binding unavailable, measuring raw FFI only: ' . $e->getMessage() . "\n");
}

$sizes = ['ffi' => $nFast, 'tc' => $nFast, 'floor' => $nFast, 'guide' => $nGuide];
$place(0);
foreach ($variants as $name => $fn) {
    bench_batch($fn, max(5, intdiv($sizes[$name], 10))); // warm up: connections open, caches hot
}
$names = array_keys($variants);
$samples = array_fill_keys($names, []);
$cpuSamples = array_fill_keys($names, []);
$ratioFloor = $ratioGuide = [];
for ($r = 0; $r < $pairs; $r++) {
    $place($r);
    $k = count($names);
    $pair = [];
    for ($j = 0; $j < $k; $j++) {
        $name = $names[($j + $r) % $k];
        $pair[$name] = bench_batch($variants[$name], $sizes[$name], $cpu) / 1000.0;
        $samples[$name][] = $pair[$name];
        $cpuSamples[$name][] = $cpu / 1000.0;
    }
    $ratioFloor[] = $pair['ffi'] / $pair['floor'];
    $ratioGuide[] = $pair['guide'] / $pair['ffi'];
}
foreach ($samples as $name => $s) {
    bench_emit("php.rt.$label.$name", 'us', $s);
    bench_emit("php.rt.$label.{$name}_cpu", 'us', $cpuSamples[$name]);
}
bench_emit("php.rt.$label.ratio_ffi_floor", 'x', $ratioFloor);
bench_emit("php.rt.$label.ratio_guide_ffi", 'x', $ratioGuide);
$ffi->flx_client_free($c);
