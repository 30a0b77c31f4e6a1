<?php

declare(strict_types=1);

namespace Flexiti\Auth\Tests\Support;

/**
 * A small FastCGI client (the responder role, as nginx speaks it to php-fpm) that keeps several
 * requests in flight at once, each on its own connection: run() sends a list of requests with at
 * most $concurrency outstanding, starting the next as soon as one answers, and returns every
 * answer in request order. Used to drive a php-fpm pool with concurrent requests without a web
 * server or one cgi-fcgi process per request.
 */
final class FastCgi
{
    private const BEGIN_REQUEST = 1;
    private const END_REQUEST = 3;
    private const PARAMS = 4;
    private const STDIN = 5;
    private const STDOUT = 6;
    private const STDERR = 7;

    /**
     * @param string                            $socket  the pool's listen address: a unix socket path
     * @param list<array<string, string>>       $requests FastCGI params of each request (SCRIPT_FILENAME, ...)
     *
     * @return list<array{status: int, headers: string, body: string, stderr: string, seconds: float}>
     */
    public static function run(string $socket, array $requests, int $concurrency, float $timeout = 60.0): array
    {
        $answers = [];
        $open = []; // slot => [index, stream, buffer, stdout, stderr, started]
        $next = 0;
        $deadline = microtime(true) + $timeout;
        while ($next < count($requests) || $open !== []) {
            while ($next < count($requests) && count($open) < $concurrency) {
                $stream = @stream_socket_client('unix://' . $socket, $errno, $errstr, 10);
                if ($stream === false) {
                    throw new \RuntimeException("cannot connect to $socket: $errstr");
                }
                $started = microtime(true);
                fwrite($stream, self::encode($requests[$next]));
                stream_set_blocking($stream, false);
                $open[] = ['index' => $next, 'stream' => $stream, 'buffer' => '', 'stdout' => '', 'stderr' => '', 'started' => $started];
                $next++;
            }
            if (microtime(true) > $deadline) {
                foreach ($open as $o) {
                    fclose($o['stream']);
                }
                throw new \RuntimeException(sprintf('FastCGI: %d request(s) unanswered after %.0f s', count($open), $timeout));
            }
            $read = array_map(static fn (array $o) => $o['stream'], $open);
            $none = null;
            if (stream_select($read, $none, $none, 0, 200000) === 0) {
                continue;
            }
            foreach ($open as $slot => $o) {
                if (!in_array($o['stream'], $read, true)) {
                    continue;
                }
                $chunk = (string) fread($o['stream'], 65536);
                $o['buffer'] .= $chunk;
                $done = self::consume($o);
                if (!$done && $chunk === '' && feof($o['stream'])) {
                    throw new \RuntimeException('FastCGI: the pool closed a connection before END_REQUEST: ' . $o['stderr']);
                }
                if ($done) {
                    fclose($o['stream']);
                    $parts = preg_split("/\r?\n\r?\n/", $o['stdout'], 2) ?: [''];
                    $headers = $parts[0];
                    $status = preg_match('/^Status: (\d{3})/mi', $headers, $m) === 1 ? (int) $m[1] : 200;
                    $answers[$o['index']] = [
                        'status' => $status,
                        'headers' => $headers,
                        'body' => $parts[1] ?? '',
                        'stderr' => $o['stderr'],
                        'seconds' => microtime(true) - $o['started'],
                    ];
                    unset($open[$slot]);
                } else {
                    $open[$slot] = $o;
                }
            }
            $open = array_values($open);
        }
        ksort($answers);

        return array_values($answers);
    }

    /** One whole request: BEGIN_REQUEST, the params, an empty STDIN. Request id 1. */
    private static function encode(array $params): string
    {
        $body = '';
        foreach ($params as $name => $value) {
            $body .= self::length(strlen((string) $name)) . self::length(strlen((string) $value)) . $name . $value;
        }
        $out = self::record(self::BEGIN_REQUEST, pack('nCx5', 1, 0));
        foreach (str_split($body, 65535) as $piece) {
            if ($piece !== '') {
                $out .= self::record(self::PARAMS, $piece);
            }
        }

        return $out . self::record(self::PARAMS, '') . self::record(self::STDIN, '');
    }

    private static function record(int $type, string $content): string
    {
        return pack('CCnnCx', 1, $type, 1, strlen($content), 0) . $content;
    }

    private static function length(int $n): string
    {
        return $n < 128 ? chr($n) : pack('N', $n | 0x80000000);
    }

    /**
     * Take the complete records from $o['buffer'] into stdout/stderr.
     *
     * @param array{buffer: string, stdout: string, stderr: string} $o
     *
     * @return bool END_REQUEST seen
     */
    private static function consume(array &$o): bool
    {
        while (strlen($o['buffer']) >= 8) {
            $h = unpack('Cversion/Ctype/nid/nlength/Cpadding', $o['buffer']);
            $total = 8 + $h['length'] + $h['padding'];
            if (strlen($o['buffer']) < $total) {
                return false;
            }
            $content = substr($o['buffer'], 8, $h['length']);
            $o['buffer'] = (string) substr($o['buffer'], $total);
            if ($h['type'] === self::STDOUT) {
                $o['stdout'] .= $content;
            } elseif ($h['type'] === self::STDERR) {
                $o['stderr'] .= $content;
            } elseif ($h['type'] === self::END_REQUEST) {
                return true;
            }
        }

        return false;
    }
}
