<?php
/*
 * The cached path from PHP: a valid token held, no request.
 *   reference   the guide's getFlexitiToken(true): session read, json_decode, isAccessTokenExpired
 *   ffi         raw FFI: flx_get_access_token($c, true), FFI::string, flx_string_free
 *   ffi_into    raw FFI: flx_get_access_token_into($c, true, $buf, 4096), FFI::string (no pointer
 *               object, no free: what the binding's getters do)
 *   tc_access   the binding: TokenClient->getAccessToken(true)
 *   tc_token    the binding: TokenClient->getToken(true) (the whole token as an array, like the
 *               guide's decoded object)
 * and what a PHP-FPM request pays when nothing survives the request (the handle is created from
 * the session each time; the guide's flow reads the same session):
 *   ffi_request  flx_client_new + flx_session_import + flx_get_access_token + flx_client_free
 *   tc_request   new TokenClient + importSession + getAccessToken(true) (+ destructor)
 * Usage: php cached.php LIB [reps]
 */

declare(strict_types=1);

require_once __DIR__ . '/php_common.php';

$lib = $argv[1] ?? getenv('FLEXITI_AUTH_LIB');
$reps = (int) ($argv[2] ?? 11);
$n = 100000;
$url = 'https://127.0.0.1:9/';

$session = new GuideSession();
$session->setFlxOauthToken(json_encode(['token_type' => 'bearer', 'access_token' => str_repeat('A', 40), 'expires_in' => 1200,
    'refresh_token' => str_repeat('R', 64)]));
$session->setFlxAccessTokenCreatedTime(time());
$flow = new GuideTokenFlow($session, ['api_url' => $url, 'clientid' => 'bench-client', 'clientsecret' => 'bench-secret']);

$ffi = bench_ffi($lib);
$c = $ffi->flx_client_new($url, 'bench-client', 'bench-secret');
if ($ffi->flx_session_import($c, bench_session_json()) !== 0) {
    fwrite(STDERR, "flx_session_import failed\n");
    exit(2);
}

$variants = [
    'reference' => static function (int $n) use ($flow): void {
        for ($i = 0; $i < $n; $i++) {
            $t = $flow->getFlexitiToken(true)->access_token;
        }
    },
    'ffi' => static function (int $n) use ($ffi, $c): void {
        for ($i = 0; $i < $n; $i++) {
            $p = $ffi->flx_get_access_token($c, true);
            $t = FFI::string($p);
            $ffi->flx_string_free($p);
        }
    },
    'ffi_into' => static function (int $n) use ($ffi, $c): void {
        $buf = $ffi->new('char[4096]');
        for ($i = 0; $i < $n; $i++) {
            $t = FFI::string($buf, $ffi->flx_get_access_token_into($c, true, $buf, 4096));
        }
    },
];

$sessionJson = bench_session_json();
$perRequestN = 10000;
$variants['ffi_request'] = static function (int $n) use ($ffi, $url, $sessionJson): void {
    for ($i = 0; $i < $n; $i++) {
        $c = $ffi->flx_client_new($url, 'bench-client', 'bench-secret');
        $ffi->flx_session_import($c, $sessionJson);
        $p = $ffi->flx_get_access_token($c, true);
        $t = FFI::string($p);
        $ffi->flx_string_free($p);
        $ffi->flx_client_free($c);
    }
};

$tc = null;
try {
    require_once bench_repo() . '/bindings/php/autoload.php';
    $tc = new Flexiti\Auth\TokenClient($url, 'bench-client', 'bench-secret', ['library' => $lib]);
    $tc->importSession(bench_session_json());
    $variants['tc_access'] = static function (int $n) use ($tc): void {
        for ($i = 0; $i < $n; $i++) {
            $t = $tc->getAccessToken(true);
        }
    };
    $variants['tc_token'] = static function (int $n) use ($tc): void {
        for ($i = 0; $i < $n; $i++) {
            $t = $tc->getToken(true);
        }
    };
    $variants['tc_request'] = static function (int $n) use ($url, $lib, $sessionJson): void {
        for ($i = 0; $i < $n; $i++) {
            $client = new Flexiti\Auth\TokenClient($url, 'bench-client', 'bench-secret', ['library' => $lib]);
            $client->importSession($sessionJson);
            $t = $client->getAccessToken(true);
            unset($client);
        }
    };
} catch (Throwable $e) {
    fwrite(STDERR, 'PHP binding unavailable, measuring raw FFI only: ' . $e->getMessage() . "\n");
}

// Same answer from every variant before timing anything.
$expect = str_repeat('A', 40);
$p = $ffi->flx_get_access_token($c, true);
if ($flow->getFlexitiToken(true)->access_token !== $expect || FFI::string($p) !== $expect
    || ($tc !== null && ($tc->getAccessToken(true) !== $expect || $tc->getToken(true)['access_token'] !== $expect))) {
    fwrite(STDERR, "variants disagree on the token\n");
    exit(2);
}
$ffi->flx_string_free($p);

$names = array_keys($variants);
$samples = array_fill_keys($names, []);
foreach ($variants as $fn) {
    bench_batch($fn, 2000); // warm up
}
for ($r = 0; $r < $reps; $r++) {
    $k = count($names);
    for ($j = 0; $j < $k; $j++) {
        $name = $names[($j + $r) % $k];
        $samples[$name][] = bench_batch($variants[$name], str_ends_with($name, '_request') ? $perRequestN : $n);
    }
}
foreach ($samples as $name => $s) {
    bench_emit("php.cached.$name", 'ns', $s);
}
$ffi->flx_client_free($c);
