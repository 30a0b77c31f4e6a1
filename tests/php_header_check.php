<?php
// The generated PHP header must parse with PHP's own FFI parser and call into the library.
// Usage: php -d ffi.enable=1 tests/php_header_check.php /path/to/libflexiti_auth.so
$lib = $argv[1] ?? exit("usage: php_header_check.php LIB\n");
$header = file_get_contents(__DIR__ . '/../include/flexiti_auth_php.h');
$lines = explode("\n", $header);
if ($lines[0] !== '#define FFI_SCOPE "FLEXITI_AUTH"' || $lines[1] !== '#define FFI_LIB "libflexiti_auth.so"') {
    fwrite(STDERR, "the PHP header must open with the FFI_SCOPE and FFI_LIB defines\n");
    exit(1);
}
foreach (array_slice($lines, 2) as $n => $line) {
    if (str_starts_with(ltrim($line), '#')) {
        fwrite(STDERR, "preprocessor line " . ($n + 3) . " in the PHP header: $line\n");
        exit(1);
    }
}
$ffi = FFI::cdef($header, $lib);
$version = $ffi->flx_version();
$cargo = file_get_contents(__DIR__ . '/../Cargo.toml');
preg_match('/^version = "([^"]+)"/m', $cargo, $m);
if ($version !== $m[1]) {
    fwrite(STDERR, "flx_version() through the PHP header gave '$version', Cargo.toml says '{$m[1]}'\n");
    exit(1);
}
if ($ffi->flx_is_access_token_expired(0, 1200, 1139, 60) || !$ffi->flx_is_access_token_expired(0, 1200, 1140, 60)) {
    fwrite(STDERR, "flx_is_access_token_expired through the PHP header disagrees with the guide's rule\n");
    exit(1);
}
if ($ffi->flx_client_new(null, "id", "secret") !== null || $ffi->flx_last_error_code() !== $ffi->FLX_ERR_INVALID_ARGUMENT) {
    fwrite(STDERR, "NULL api_url through the PHP header did not give FLX_ERR_INVALID_ARGUMENT\n");
    exit(1);
}
echo "PHP header: parsed by FFI, flx_version() = $version\n";
