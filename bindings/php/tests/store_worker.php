<?php
// One process of the mixed-language token store tests: the PHP binding from the CLI.
//
//   php -d ffi.enable=1 store_worker.php URL CALLS USE_CACHE GO_FILE [NAME=VALUE ...]
//
// Same protocol as tests/c/store_worker.c: READY, wait for GO_FILE ("-": no wait), one
// "TOKEN <access token>" (or "ERROR <code> <message>") per call, then "STATS <json>".
declare(strict_types=1);

require __DIR__ . '/../autoload.php';

use Flexiti\Auth\Exception\FlexitiException;
use Flexiti\Auth\TokenClient;

[$url, $calls, $useCache, $go] = [$argv[1], (int) $argv[2], $argv[3] === '1', $argv[4]];
$options = ['proxy' => 'none'];
foreach (array_slice($argv, 5) as $arg) {
    [$name, $value] = explode('=', $arg, 2);
    $options[$name] = $value;
}
$id = getenv('FLX_CLIENT_ID') ?: 'flexiti-test-client';
$secret = getenv('FLX_CLIENT_SECRET') ?: 'flexiti-test-secret';
try {
    $client = new TokenClient($url, $id, $secret, $options);
} catch (FlexitiException $e) {
    echo 'OPTION_ERROR ', $e->getCode(), ' ', get_class($e), ' ', $e->getMessage(), "\n";
    exit(0);
}
echo "READY\n";
if ($go !== '-') {
    while (!file_exists($go)) {
        usleep(1000);
        clearstatcache();
    }
}
for ($i = 0; $i < $calls; $i++) {
    try {
        echo 'TOKEN ', $client->getAccessToken($useCache), "\n";
    } catch (FlexitiException $e) {
        echo 'ERROR ', $e->getCode(), ' ', $e->getMessage(), "\n";
    }
}
echo 'STATS ', json_encode($client->stats()), "\n";
