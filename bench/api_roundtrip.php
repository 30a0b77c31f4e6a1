<?php
/*
 * An authenticated POS-API GET round trip through PHP, against the loopback nginx (a fixed small
 * JSON answer at /flexiti/pos-api/v2.5/ping), the token valid and held:
 *   ffi   the library through raw FFI: flx_request($c, "GET", path, NULL, NULL, true, ...) (the
 *         cached token, a fresh x-reference-id, its kept-alive connection), FFI::string of the
 *         body, json_decode
 *   tc    the same through the binding: TokenClient->request('GET', path) (decoded JSON, headers)
 *   curl  what a PHP developer writes with the guide: getFlexitiToken(true) (the session's token,
 *         json_decode, isAccessTokenExpired), then one curl handle reused (connection kept
 *         alive) for GET with Authorization: Bearer, a fresh x-reference-id (random_bytes UUID),
 *         Accept: application/json; the status checked for a 401 invalid_token; json_decode
 * Batches run in pairs, the order rotating pair by pair; per-pair ratios are emitted too, with the
 * CPU time this PHP process spent per call. Placement as in roundtrip.php.
 * Usage: php api_roundtrip.php LIB URL CA|- PAIRS N LABEL NGINX_WORKER_PID split|shared
 */

declare(strict_types=1);

require_once __DIR__ . '/php_common.php';

[, $lib, $url, $ca, $pairs, $n, $label, $worker, $placement] = $argv + [null, null, null, '-', 15, 300, 'x', 0, 'split'];
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
[$pairs, $n] = [(int) $pairs, (int) $n];
$clientId = 'bench-client';
$secret = 'bench-secret';
$path = 'flexiti/pos-api/v2.5/ping';

$ffi = bench_ffi($lib);
$c = $ffi->flx_client_new($url, $clientId, $secret);
foreach (['proxy' => 'none', 'ca_file' => $ca] as $name => $value) {
    if ($value !== null && $ffi->flx_client_set_option($c, $name, $value) !== 0) {
        fwrite(STDERR, "option $name: " . $ffi->flx_last_error_message() . "\n");
        exit(2);
    }
}
$status = $ffi->new('int32_t');
$out = $ffi->new('char *');
$statusPtr = FFI::addr($status);
$outPtr = FFI::addr($out);

/** The guide's token handling plus a kept-alive curl GET, written the way the guide writes PHP. */
final class GuideApiCall
{
    private \CurlHandle $ch;

    public function __construct(private GuideTokenFlow $flow, private string $apiUrl, ?string $caFile)
    {
        $this->ch = curl_init();
        curl_setopt_array($this->ch, [CURLOPT_RETURNTRANSFER => true, CURLOPT_PROXY => ''] + ($caFile !== null ? [CURLOPT_CAINFO => $caFile] : []));
    }

    private static function referenceId(): string
    {
        $b = random_bytes(16);
        $b[6] = chr(ord($b[6]) & 0x0f | 0x40);
        $b[8] = chr(ord($b[8]) & 0x3f | 0x80);

        return vsprintf('%s%s-%s-%s-%s-%s%s%s', str_split(bin2hex($b), 4));
    }

    /** @return mixed the decoded answer */
    public function get(string $path)
    {
        $token = $this->flow->getFlexitiToken(true);
        curl_setopt_array($this->ch, [
            CURLOPT_URL => $this->apiUrl . $path,
            CURLOPT_HTTPGET => true,
            CURLOPT_HTTPHEADER => [
                'Authorization: Bearer ' . $token->access_token,
                'x-reference-id: ' . self::referenceId(),
                'Accept: application/json',
            ],
        ]);
        $body = curl_exec($this->ch);
        if ($body === false) {
            throw new \Exception(curl_error($this->ch));
        }
        $status = (int) curl_getinfo($this->ch, CURLINFO_HTTP_CODE);
        if ($status === 401 && str_contains((string) $body, 'invalid_token')) {
            throw new \Exception('token refused: a new one and a resend would go here');
        }

        return json_decode((string) $body);
    }
}

$session = new GuideSession();
$flow = new GuideTokenFlow($session, ['api_url' => $url, 'clientid' => $clientId, 'clientsecret' => $secret], $ca);
$flow->getFlexitiToken(false); // a token in the session: from now on the cached path
$guide = new GuideApiCall($flow, $url, $ca);

$variants = [
    'ffi' => static function (int $n) use ($ffi, $c, $path, $status, $statusPtr, $out, $outPtr): void {
        for ($i = 0; $i < $n; $i++) {
            if ($ffi->flx_request($c, 'GET', $path, null, null, true, $statusPtr, $outPtr) !== 0) {
                throw new RuntimeException('flx_request: ' . $ffi->flx_last_error_message());
            }
            $body = FFI::string($out);
            $ffi->flx_string_free($out);
            $answer = json_decode($body);
            if ($status->cdata !== 200) {
                throw new RuntimeException("flx_request: HTTP {$status->cdata}");
            }
        }
    },
    'curl' => static function (int $n) use ($guide, $path): void {
        for ($i = 0; $i < $n; $i++) {
            $answer = $guide->get($path);
        }
    },
];
try {
    require_once bench_repo() . '/bindings/php/autoload.php';
    $tc = new Flexiti\Auth\TokenClient($url, $clientId, $secret, ['library' => $lib, 'proxy' => 'none'] + ($ca ? ['ca_file' => $ca] : []));
    $tc->getAccessToken(false);
    $variants['tc'] = static function (int $n) use ($tc, $path): void {
        for ($i = 0; $i < $n; $i++) {
            $answer = $tc->request('GET', $path);
        }
    };
} catch (Throwable $e) {
    fwrite(STDERR, 'PHP binding unavailable, measuring raw FFI only: ' . $e->getMessage() . "\n");
}

$place(0);
foreach ($variants as $name => $fn) {
    bench_batch($fn, max(5, intdiv($n, 10))); // warm up: connections open, caches hot
}
$names = array_keys($variants);
$samples = array_fill_keys($names, []);
$cpuSamples = array_fill_keys($names, []);
$ratio = $ratioTc = [];
for ($r = 0; $r < $pairs; $r++) {
    $place($r);
    $k = count($names);
    $pair = [];
    for ($j = 0; $j < $k; $j++) {
        $name = $names[($j + $r) % $k];
        $pair[$name] = bench_batch($variants[$name], $n, $cpu) / 1000.0;
        $samples[$name][] = $pair[$name];
        $cpuSamples[$name][] = $cpu / 1000.0;
    }
    $ratio[] = $pair['ffi'] / $pair['curl'];
    if (isset($pair['tc'])) {
        $ratioTc[] = $pair['tc'] / $pair['curl'];
    }
}
foreach ($samples as $name => $s) {
    bench_emit("php.api.$label.$name", 'us', $s);
    bench_emit("php.api.$label.{$name}_cpu", 'us', $cpuSamples[$name]);
}
bench_emit("php.api.$label.ratio_ffi_curl", 'x', $ratio);
if ($ratioTc !== []) {
    bench_emit("php.api.$label.ratio_tc_curl", 'x', $ratioTc);
}
$ffi->flx_client_free($c);
