<?php
/* Helpers of the PHP benches: the library through raw FFI, results as JSON lines. */

declare(strict_types=1);

require_once __DIR__ . '/reference_flow.php';

function bench_repo(): string
{
    return dirname(__DIR__);
}

/** FFI::cdef of include/flexiti_auth_php.h (without its FFI_SCOPE/FFI_LIB lines) for $lib. */
function bench_ffi(string $lib): FFI
{
    $code = (string) file_get_contents(bench_repo() . '/include/flexiti_auth_php.h');
    $code = (string) preg_replace('/^[ \t]*#[ \t]*define[ \t]+FFI_(SCOPE|LIB)\b.*$/m', '', $code);
    return FFI::cdef($code, $lib);
}

/** @param list<float> $samples */
function bench_emit(string $id, string $unit, array $samples): void
{
    echo json_encode(['id' => $id, 'unit' => $unit, 'samples' => array_values($samples)]), "\n";
}

/** Session JSON holding a valid token (the same shape the C benches import). */
function bench_session_json(int $accessLen = 40): string
{
    return json_encode([
        'token' => ['token_type' => 'bearer', 'access_token' => str_repeat('A', $accessLen), 'expires_in' => 1200,
            'refresh_token' => str_repeat('R', 64)],
        'created_at' => time(),
        'expires_in' => 1200,
    ]);
}

/** Run $fn $n times; ns per call. With $cpu, also this process's CPU time (user + system) per
 * call, in ns, stored into it. */
function bench_batch(callable $fn, int $n, ?float &$cpu = null): float
{
    $r0 = getrusage();
    $t0 = hrtime(true);
    $fn($n);
    $t1 = hrtime(true);
    $r1 = getrusage();
    $us = static fn (array $r): float => ($r['ru_utime.tv_sec'] + $r['ru_stime.tv_sec']) * 1e6 + $r['ru_utime.tv_usec'] + $r['ru_stime.tv_usec'];
    $cpu = ($us($r1) - $us($r0)) * 1000.0 / $n;
    return ($t1 - $t0) / $n;
}

/** Pin process $pid (0: this one) to one CPU, through libc's sched_setaffinity. */
function bench_pin(int $pid, int $cpu): void
{
    static $libc = null;
    $libc ??= FFI::cdef('int sched_setaffinity(int pid, size_t cpusetsize, const unsigned long *mask);', 'libc.so.6');
    $mask = FFI::new('unsigned long[1]');
    $mask[0] = 1 << $cpu;
    if ($libc->sched_setaffinity($pid, 8, $mask) !== 0) {
        throw new RuntimeException("sched_setaffinity($pid, cpu $cpu) failed");
    }
}
