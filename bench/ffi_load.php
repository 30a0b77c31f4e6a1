<?php
/*
 * What a PHP request pays to reach the library, per request (each variant in a loop; one
 * flx_version() call per iteration so the function is looked up too):
 *   load     FFI::load(header with an absolute FFI_LIB): parse the header, dlopen (refcount)
 *   cdef     what the binding does without preload: read the header, strip FFI_* lines,
 *            FFI::cdef($code, $lib)
 *   scope    FFI::scope("FLEXITI_AUTH"): the header was parsed and the library loaded once at
 *            startup (ffi.preload), as PHP-FPM with the binding's preload.php does
 * The library is pinned in memory by the first client (as in any real request), so dlopen is
 * a reference count, not a load. Usage: php -d ffi.preload=HEADER ffi_load.php LIB HEADER [reps]
 */

declare(strict_types=1);

require_once __DIR__ . '/php_common.php';

[, $lib, $header, $reps] = $argv + [null, null, null, 11];
$reps = (int) $reps;
$n = 2000;

$pin = bench_ffi($lib);
$pin->flx_client_free($pin->flx_client_new('https://127.0.0.1:9/', 'bench-client', 'bench-secret'));

$variants = [
    'load' => static function (int $n) use ($header): void {
        for ($i = 0; $i < $n; $i++) {
            $ffi = FFI::load($header);
            $v = $ffi->flx_version();
        }
    },
    'cdef' => static function (int $n) use ($lib): void {
        $path = bench_repo() . '/include/flexiti_auth_php.h';
        for ($i = 0; $i < $n; $i++) {
            $code = (string) file_get_contents($path);
            $code = (string) preg_replace('/^[ \t]*#[ \t]*define[ \t]+FFI_(SCOPE|LIB)\b.*$/m', '', $code);
            $ffi = FFI::cdef($code, $lib);
            $v = $ffi->flx_version();
        }
    },
];
try {
    FFI::scope('FLEXITI_AUTH');
    $variants['scope'] = static function (int $n): void {
        for ($i = 0; $i < $n; $i++) {
            $ffi = FFI::scope('FLEXITI_AUTH');
            $v = $ffi->flx_version();
        }
    };
} catch (Throwable $e) {
    fwrite(STDERR, 'no FFI scope (run with -d ffi.preload=HEADER): ' . $e->getMessage() . "\n");
}

$names = array_keys($variants);
$samples = array_fill_keys($names, []);
foreach ($variants as $fn) {
    bench_batch($fn, 100);
}
for ($r = 0; $r < $reps; $r++) {
    foreach ($names as $j => $_) {
        $name = $names[($j + $r) % count($names)];
        $samples[$name][] = bench_batch($variants[$name], $n) / 1000.0;
    }
}
foreach ($samples as $name => $s) {
    bench_emit("php.ffi_load.$name", 'us', $s);
}
