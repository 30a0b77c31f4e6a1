<?php

/*
 * The request script of FpmTest, run by a php-fpm worker. It is not preloaded and registers no
 * autoloader: the binding's classes must come from opcache.preload, the library from ffi.preload.
 * Answers JSON: what this process looked like when the request began, then one token call.
 */

declare(strict_types=1);

use Flexiti\Auth\TokenClient;

/** @return array{0: string|null, 1: int} the lowest mapping address of libflexiti_auth in this process, and how many paths map it */
function flexitiMappings(string $maps): array
{
    $base = null;
    $paths = [];
    foreach (explode("\n", $maps) as $line) {
        if (strpos($line, 'libflexiti_auth') === false) {
            continue;
        }
        $fields = preg_split('/\s+/', trim($line));
        $start = explode('-', $fields[0])[0];
        $paths[(string) end($fields)] = true;
        if ($base === null || hexdec($start) < hexdec($base)) {
            $base = $start;
        }
    }

    return [$base, count($paths)];
}

$out = ['pid' => getmypid(), 'sapi' => PHP_SAPI];
[$out['lib_base_at_start'], $out['lib_paths_at_start']] = flexitiMappings((string) file_get_contents('/proc/self/maps'));
$out['binding_preloaded'] = class_exists(TokenClient::class, false);

// Plain request code may not use FFI (PHP's default ffi.enable=preload): the binding must.
try {
    FFI::cdef('int abs(int j);');
    $out['ffi_restricted'] = false;
} catch (Throwable $e) {
    $out['ffi_restricted'] = strpos($e->getMessage(), 'ffi.enable') !== false;
}

// A per-process request counter (PHP statics do not outlive a request).
$state = (string) $_SERVER['FLX_STATE_DIR'];
$counter = $state . '/requests-' . getmypid();
$out['request_in_process'] = (int) @file_get_contents($counter) + 1;
file_put_contents($counter, (string) $out['request_in_process']);

try {
    $info = TokenClient::libraryInfo();
    $out['library_source'] = $info['source'];
    $out['library_version'] = $info['version'];

    $client = new TokenClient((string) $_SERVER['FLX_API_URL'], (string) $_SERVER['FLX_CLIENT_ID'], (string) $_SERVER['FLX_CLIENT_SECRET'], ['max_retries' => 0]);
    $sessionFile = $state . '/session.json';
    if (is_file($sessionFile)) {
        $client->importSession((string) file_get_contents($sessionFile));
    }
    $out['access_token'] = $client->getAccessToken();
    file_put_contents($sessionFile, $client->exportSession());
} catch (Throwable $e) {
    $out['error'] = get_class($e) . ': ' . $e->getMessage();
}
[$out['lib_base_at_end'], $out['lib_paths_at_end']] = flexitiMappings((string) file_get_contents('/proc/self/maps'));

header('Content-Type: application/json');
echo json_encode($out);
