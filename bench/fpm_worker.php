<?php
/*
 * The request script of bench/fpm.php, run by a php-fpm worker (the binding's classes come from
 * opcache.preload, the library from ffi.preload). Each request times each variant once, in an
 * order that rotates with the request number, and answers JSON (ns per variant).
 * FastCGI params: BENCH_MODE ("cached" | "refresh" | "count"), BENCH_URL, BENCH_CA (or ""),
 * BENCH_SEQ (the request number), BENCH_FLOW (count mode: "cached" | "purchase"), BENCH_STORE
 * (count mode: a token_store, used with refresh_min_age_secs=60; "" for none).
 *   cached   guide:       the guide's getFlexitiToken(true) over a session holding a valid token
 *            persistent:  TokenClient::persistent(url, id, secret)->getAccessToken(true), no option
 *                         (the pool runs with clear_env: no proxy variable to turn off)
 *            persistent_ctor: TokenClient::persistent(url, id, secret) alone (no token call)
 *            persistent_opts: the same with four options set on every request
 *            new_client:  new TokenClient + importSession + getAccessToken(true) (nothing survives)
 *   refresh  guide:       getFlexitiToken(false): a new curl handle (connection, TLS handshake)
 *            persistent:  TokenClient::persistent(..., ca_file)->getAccessToken(false), kept alive
 *            new_client:  new TokenClient + importSession + getAccessToken(false)
 *   count    one persistent getAccessToken(BENCH_FLOW == "cached"); answers the requests it sent
 */

declare(strict_types=1);

use Flexiti\Auth\TokenClient;

require_once __DIR__ . '/reference_flow.php';

const BENCH_ID = 'flexiti-test-client';
const BENCH_SECRET = 'flexiti-test-secret';

$mode = (string) $_SERVER['BENCH_MODE'];
$url = (string) $_SERVER['BENCH_URL'];
$ca = (string) ($_SERVER['BENCH_CA'] ?? '');
$seq = (int) ($_SERVER['BENCH_SEQ'] ?? 0);
$out = ['pid' => getmypid()];

$token = ['token_type' => 'bearer', 'access_token' => str_repeat('A', 32), 'expires_in' => 1200, 'refresh_token' => str_repeat('R', 32)];
$session = new GuideSession();
$session->setFlxOauthToken((string) json_encode($token));
$session->setFlxAccessTokenCreatedTime(time());
$session->setFlxAccessTokenExpiresIn(1200);
$sessionJson = (string) json_encode(['token' => $token, 'created_at' => time(), 'expires_in' => 1200]);
$flow = new GuideTokenFlow($session, ['api_url' => $url, 'clientid' => BENCH_ID, 'clientsecret' => BENCH_SECRET], $ca === '' ? null : $ca);
$options = ['proxy' => 'none'] + ($ca === '' ? [] : ['ca_file' => $ca]);

try {
    if ($mode === 'count') {
        $store = (string) ($_SERVER['BENCH_STORE'] ?? '');
        $client = TokenClient::persistent($url, BENCH_ID, BENCH_SECRET, $options + ($store === '' ? [] : ['token_store' => $store, 'refresh_min_age_secs' => 60]));
        $before = array_sum($client->stats()['requests']);
        $client->getAccessToken(($_SERVER['BENCH_FLOW'] ?? 'cached') === 'cached');
        $out['requests_sent'] = array_sum($client->stats()['requests']) - $before;
    } else {
        $cache = $mode === 'cached';
        // The worker's handle gets its token (and its connection) before anything is timed.
        $out['warm'] = TokenClient::persistent($url, BENCH_ID, BENCH_SECRET, $options)->stats()['token_held'];
        if (!$out['warm']) {
            TokenClient::persistent($url, BENCH_ID, BENCH_SECRET, $options)->getAccessToken(false);
        }
        $variants = [
            'guide' => static function () use ($flow, $cache): void {
                $flow->getFlexitiToken($cache);
            },
            'persistent' => static function () use ($url, $options, $cache): void {
                TokenClient::persistent($url, BENCH_ID, BENCH_SECRET, $cache ? [] : $options)->getAccessToken($cache);
            },
            'new_client' => static function () use ($url, $options, $cache, $sessionJson): void {
                $c = new TokenClient($url, BENCH_ID, BENCH_SECRET, $options);
                $c->importSession($sessionJson);
                $c->getAccessToken($cache);
            },
        ];
        if ($cache) {
            $variants['persistent_ctor'] = static function () use ($url): void {
                TokenClient::persistent($url, BENCH_ID, BENCH_SECRET);
            };
            $variants['persistent_opts'] = static function () use ($url, $options): void {
                TokenClient::persistent($url, BENCH_ID, BENCH_SECRET, $options + ['timeout_ms' => 10000, 'max_retries' => 1, 'expiration_threshold_secs' => 60])
                    ->getAccessToken(true);
            };
        }
        $names = array_keys($variants);
        $k = count($names);
        for ($i = 0; $i < $k; $i++) {
            $name = $names[($seq + $i) % $k];
            $f = $variants[$name];
            $t0 = hrtime(true);
            $f();
            $out[$name] = hrtime(true) - $t0;
        }
    }
} catch (Throwable $e) {
    $out['error'] = get_class($e) . ': ' . $e->getMessage();
}
header('Content-Type: application/json');
echo json_encode($out);
