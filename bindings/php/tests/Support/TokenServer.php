<?php

declare(strict_types=1);

namespace Flexiti\Auth\Tests\Support;

/**
 * A running flexiti-token-server ($FLX_TOKEN_SERVER), tied to this process by --watch-stdin,
 * and its control API.
 */
final class TokenServer
{
    public const CLIENT_ID = 'flexiti-test-client';
    public const CLIENT_SECRET = 'flexiti-test-secret';

    /** @var resource */
    private $process;

    /** @var array<int, resource> */
    private array $pipes;

    private string $url;

    /** @param list<string> $args extra arguments, e.g. ['--expires-in', '60'] */
    public function __construct(array $args = [])
    {
        $binary = (string) getenv('FLX_TOKEN_SERVER');
        $process = proc_open(
            array_merge([$binary, '--port', '0', '--watch-stdin'], $args),
            [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['file', '/dev/null', 'w']],
            $pipes
        );
        if (!is_resource($process)) {
            throw new \RuntimeException("cannot start $binary");
        }
        $this->process = $process;
        $this->pipes = $pipes;
        $read = [$pipes[1]];
        $none = null;
        $line = false;
        if (stream_select($read, $none, $none, 10) === 1) {
            $line = fgets($pipes[1]);
        }
        if (!is_string($line) || preg_match('#^https?://127\.0\.0\.1:\d+/$#', trim($line)) !== 1) {
            $this->stop();
            throw new \RuntimeException("$binary did not print its URL (got " . var_export($line, true) . ')');
        }
        $this->url = trim($line);
    }

    public function url(): string
    {
        return $this->url;
    }

    public function stop(): void
    {
        if (!is_resource($this->process)) {
            return;
        }
        foreach ($this->pipes as $pipe) {
            if (is_resource($pipe)) {
                fclose($pipe);
            }
        }
        // --watch-stdin: closing stdin ends the server; make sure of it.
        $deadline = microtime(true) + 5;
        while (proc_get_status($this->process)['running'] && microtime(true) < $deadline) {
            usleep(10000);
        }
        if (proc_get_status($this->process)['running']) {
            proc_terminate($this->process, 9);
        }
        proc_close($this->process);
    }

    public function __destruct()
    {
        $this->stop();
    }

    public function reset(): void
    {
        $this->control('POST', '_control/reset');
    }

    /**
     * The recorded token requests, oldest first.
     *
     * @return list<array<string, mixed>>
     */
    public function requests(): array
    {
        return $this->control('GET', '_control/requests');
    }

    /** @return list<string> the grant_type of each recorded token request */
    public function grantTypes(): array
    {
        return array_map(static fn (array $r): string => (string) ($r['form']['grant_type'] ?? ''), $this->requests());
    }

    /** @param list<array<string, mixed>> $faults */
    public function faults(array $faults): void
    {
        $this->control('POST', '_control/faults', $faults);
    }

    /** @param array<string, mixed> $config */
    public function config(array $config): void
    {
        $this->control('POST', '_control/config', $config);
    }

    /** Expire every issued token server-side (their refresh tokens become invalid_grant). */
    public function expire(): void
    {
        $this->control('POST', '_control/expire');
    }

    /** @return array{connections: int, token_requests: int, open_connections: int, token_connections: int, uptime_ms: int} */
    public function stats(): array
    {
        return $this->control('GET', '_control/stats');
    }

    /** @return array{access_tokens: list<string>, refresh_tokens: list<string>} */
    public function issued(): array
    {
        return $this->control('GET', '_control/issued');
    }

    /**
     * @param mixed $body JSON-encoded when not null
     *
     * @return mixed the decoded JSON answer
     */
    private function control(string $method, string $path, $body = null)
    {
        $ch = curl_init($this->url . $path);
        $headers = [];
        curl_setopt_array($ch, [
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_PROXY => '',
            CURLOPT_NOPROXY => '*',
            CURLOPT_TIMEOUT => 10,
        ]);
        if ($body !== null) {
            curl_setopt($ch, CURLOPT_POSTFIELDS, json_encode($body));
            $headers[] = 'Content-Type: application/json';
        } elseif ($method === 'POST') {
            curl_setopt($ch, CURLOPT_POSTFIELDS, '');
        }
        curl_setopt($ch, CURLOPT_HTTPHEADER, $headers);
        $answer = curl_exec($ch);
        $status = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        $error = curl_error($ch);
        curl_close($ch);
        if (!is_string($answer) || $status < 200 || $status > 299) {
            throw new \RuntimeException("$method $path: status $status $error " . (is_string($answer) ? $answer : ''));
        }

        return json_decode($answer, true, 512, JSON_THROW_ON_ERROR);
    }
}
