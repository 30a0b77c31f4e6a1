<?php

/*
 * The request script of FpmPersistentTest, run by a php-fpm worker: what Magento code does on
 * every request, through TokenClient::persistent() (classes from opcache.preload, the library
 * from ffi.preload). FastCGI params: FLX_API_URL, FLX_CLIENT_ID, FLX_CLIENT_SECRET, FLX_FLOW
 * ("cached": the price calculator, getAccessToken(true); "purchase": getAccessToken(false)),
 * FLX_TOKEN_STORE and FLX_REFRESH_MIN_AGE (options, when not empty), FLX_STATE_DIR.
 * Answers JSON: the worker's pid, its request count, the token and what the library sent.
 */

declare(strict_types=1);

use Flexiti\Auth\TokenClient;

$out = ['pid' => getmypid(), 'start' => microtime(true)];

// A per-process request counter (PHP statics do not outlive a request).
$counter = (string) $_SERVER['FLX_STATE_DIR'] . '/requests-' . getmypid();
$out['request_in_process'] = (int) @file_get_contents($counter) + 1;
file_put_contents($counter, (string) $out['request_in_process']);

try {
    // The same options on every request, as request code sets them: they cost nothing when the
    // shared handle already has them. The user agent names the worker for the token server.
    $options = ['max_retries' => 0, 'proxy' => 'none', 'timeout_ms' => 15000, 'user_agent' => 'fpm-worker-' . getmypid()];
    foreach (['FLX_TOKEN_STORE' => 'token_store', 'FLX_REFRESH_MIN_AGE' => 'refresh_min_age_secs'] as $param => $option) {
        if ((string) ($_SERVER[$param] ?? '') !== '') {
            $options[$option] = (string) $_SERVER[$param];
        }
    }
    $client = TokenClient::persistent((string) $_SERVER['FLX_API_URL'], (string) $_SERVER['FLX_CLIENT_ID'], (string) $_SERVER['FLX_CLIENT_SECRET'], $options);
    $before = $client->stats()['requests'];
    $out['access_token'] = $client->getAccessToken(($_SERVER['FLX_FLOW'] ?? 'cached') === 'cached');
    $after = $client->stats()['requests'];
    $out['requests_sent'] = array_sum($after) - array_sum($before);
    $out['persistent'] = $client->isPersistent();
} catch (Throwable $e) {
    $out['error'] = get_class($e) . ': ' . $e->getMessage();
}
$out['end'] = microtime(true);

header('Content-Type: application/json');
echo json_encode($out);
