<?php

declare(strict_types=1);

namespace Flexiti\Auth\Tests;

use Flexiti\Auth\Tests\Support\FastCgi;
use Flexiti\Auth\Tests\Support\FpmPool;
use Flexiti\Auth\Tests\Support\TokenServer;
use Flexiti\Auth\Tests\Support\TokenServerTestCase;

/**
 * TokenClient::persistent() in a real php-fpm pool (pm=static, 8 workers, ffi.preload +
 * opcache.preload as the README documents), driven by 8 concurrent FastCGI connections, 50
 * requests each: a worker's token, options and kept-alive connection outlive its requests.
 *
 * Counted at the token server: token requests (one per worker that served, then one per needed
 * refresh), the connections they came on (one per worker, for every request it ever sends), and
 * every token a request handed out (issued by the server, not replaced when the request began).
 * With token_store (a 0700 directory of the pool user) the whole pool asks for one token, and
 * refreshes rotate it under every worker without a refresh token sent twice.
 */
final class FpmPersistentTest extends TokenServerTestCase
{
    private const WORKERS = 8;
    private const PER_CONNECTION = 50;

    private ?FpmPool $pool = null;

    private string $script = '';

    protected function tearDown(): void
    {
        if ($this->pool !== null) {
            $this->pool->remove();
            $this->pool = null;
        }
    }

    public function testEightWorkersKeepOneTokenAndOneConnectionEachAcrossRequests(): void
    {
        $this->pool = FpmPool::start((string) getenv('FLEXITI_AUTH_LIB'), self::WORKERS);
        $this->script = $this->pool->script(__DIR__ . '/fpm/persistent_worker.php');
        self::assertCount(self::WORKERS, $this->pool->workerPids(), 'pm=static started every worker' . $this->pool->logs());

        // Burst 1: 8 x 50 price-calculator requests (getAccessToken(true)), 8 at a time.
        $burst1 = $this->burst(array_fill(0, self::WORKERS * self::PER_CONNECTION, 'cached'));
        $pids = array_values(array_unique(array_column($burst1, 'pid')));
        self::assertLessThanOrEqual(self::WORKERS, count($pids));
        self::assertGreaterThan(1, count($pids), 'the requests were spread over several workers');
        foreach ($burst1 as $a) {
            self::assertTrue($a['persistent']);
        }

        // One token request per worker that served, all client_credentials: a worker's later
        // requests send none (its first request's token is still held by its handle).
        $requests = self::server()->requests();
        self::assertSame(array_fill(0, count($pids), 'client_credentials'), self::server()->grantTypes());
        self::assertEqualsCanonicalizing(array_map(static fn (int $p): string => "fpm-worker-$p", $pids), array_map([self::class, 'userAgent'], $requests));
        foreach (self::byWorker($burst1) as $pid => $answers) {
            self::assertSame(1, $answers[0]['requests_sent'], "worker $pid: its first request got the token");
            foreach (array_slice($answers, 1) as $a) {
                self::assertSame(0, $a['requests_sent'], "worker $pid, request {$a['request_in_process']}: no token request");
                self::assertSame($answers[0]['access_token'], $a['access_token'], "worker $pid: the same token");
            }
        }
        self::assertSame(count($pids), self::server()->stats()['token_connections'], 'one connection per worker');

        // Burst 2: the same 8 x 50, one purchase (getAccessToken(false): a refresh) in ten.
        $flows = [];
        for ($i = 0; $i < self::WORKERS * self::PER_CONNECTION; $i++) {
            $flows[] = $i % 10 === 9 ? 'purchase' : 'cached';
        }
        $burst2 = $this->burst($flows);
        $requests = self::server()->requests();
        $purchases = count(array_filter($flows, static fn (string $f): bool => $f === 'purchase'));
        $newWorkers = count(array_diff(array_unique(array_column($burst2, 'pid')), $pids));
        self::assertCount(count($pids) + $newWorkers + $purchases, $requests, 'one request per purchase (and per worker serving for the first time)');
        foreach ($burst2 as $a) {
            $expected = $a['flow'] === 'purchase' ? 1 : ($a['request_in_process'] === 1 ? 1 : 0);
            self::assertSame($expected, $a['requests_sent'], "worker {$a['pid']}, request {$a['request_in_process']} ({$a['flow']})");
        }
        self::assertSame($purchases, count(array_filter($requests, static fn (array $r): bool => $r['form']['grant_type'] === 'refresh_token')));
        foreach ($requests as $r) {
            self::assertSame(200, $r['status']);
        }

        // Every token request of a worker, in both bursts, went out on that worker's one connection.
        $connections = [];
        foreach ($requests as $r) {
            $connections[self::userAgent($r)][$r['connection_id']] = true;
        }
        foreach ($connections as $agent => $ids) {
            self::assertCount(1, $ids, "$agent opened a new connection: " . json_encode(array_keys($ids)));
        }
        self::assertSame(count($connections), self::server()->stats()['token_connections']);

        self::assertHandedOutTokensWereIssuedAndNotReplaced(array_merge($burst1, $burst2), $requests);
    }

    public function testEightWorkersShareOneTokenThroughTheTokenStore(): void
    {
        $this->pool = FpmPool::start((string) getenv('FLEXITI_AUTH_LIB'), self::WORKERS);
        $this->script = $this->pool->script(__DIR__ . '/fpm/persistent_worker.php');
        // The store directory: 0700, owned by the pool's user (www-data under a root master).
        $store = "{$this->pool->dir}/token-store";
        mkdir($store, 0700);
        chmod($store, 0700);
        if (function_exists('posix_geteuid') && posix_geteuid() === 0) {
            self::assertTrue(chown($store, $this->pool->user) && chgrp($store, $this->pool->user));
        }
        $store = "file:$store";

        // Burst 1: 8 x 50 price-calculator requests: one token request for the whole pool (the
        // first flight; every other worker waits for it or finds its token in the store).
        $burst1 = $this->burst(array_fill(0, self::WORKERS * self::PER_CONNECTION, 'cached'), ['FLX_TOKEN_STORE' => $store]);
        $pids = array_values(array_unique(array_column($burst1, 'pid')));
        self::assertGreaterThan(1, count($pids), 'the requests were spread over several workers');
        self::assertSame(['client_credentials'], self::server()->grantTypes());
        self::assertSame(1, array_sum(array_column($burst1, 'requests_sent')));
        $token = self::server()->issued()['access_tokens'][0];
        foreach ($burst1 as $a) {
            self::assertSame($token, $a['access_token'], "worker {$a['pid']} handed out the one stored token");
        }
        self::assertSame(1, self::server()->stats()['token_connections']);

        // Burst 2: one purchase in ten, refresh_min_age_secs=60: the token is younger than that,
        // so the purchases take it as it is: no request at all.
        $flows = [];
        for ($i = 0; $i < self::WORKERS * self::PER_CONNECTION; $i++) {
            $flows[] = $i % 10 === 9 ? 'purchase' : 'cached';
        }
        $burst2 = $this->burst($flows, ['FLX_TOKEN_STORE' => $store, 'FLX_REFRESH_MIN_AGE' => '60']);
        self::assertCount(1, self::server()->requests());
        foreach ($burst2 as $a) {
            self::assertSame(0, $a['requests_sent']);
            self::assertSame($token, $a['access_token']);
        }

        // Burst 3: the same mix with the guide's rule (every purchase refreshes): refreshes rotate
        // the one token under every worker; no refresh token is ever sent twice, and no worker
        // hands out a token another has replaced.
        $burst3 = $this->burst($flows, ['FLX_TOKEN_STORE' => $store, 'FLX_REFRESH_MIN_AGE' => '0']);
        $requests = self::server()->requests();
        $refreshes = array_values(array_filter($requests, static fn (array $r): bool => $r['form']['grant_type'] === 'refresh_token'));
        self::assertGreaterThan(0, count($refreshes));
        self::assertLessThanOrEqual(count(array_filter($flows, static fn (string $f): bool => $f === 'purchase')), count($refreshes));
        self::assertSame(count($refreshes), count(array_unique(array_map(static fn (array $r): string => $r['form']['refresh_token'], $refreshes))), 'no refresh token sent twice');
        self::assertSame(['client_credentials'], array_values(array_unique(array_map(static fn (array $r): string => $r['form']['grant_type'], array_slice($requests, 0, 1)))));
        foreach ($requests as $r) {
            self::assertSame(200, $r['status'], 'every refresh used the refresh token the store held');
        }
        foreach ($burst3 as $a) {
            if ($a['flow'] === 'cached') {
                self::assertSame(0, $a['requests_sent'], "worker {$a['pid']}: a price-calculator request sent nothing");
            }
        }
        // Each worker's token requests went out on its one connection.
        $connections = [];
        foreach ($requests as $r) {
            $connections[self::userAgent($r)][$r['connection_id']] = true;
        }
        foreach ($connections as $agent => $ids) {
            self::assertCount(1, $ids, "$agent opened a new connection: " . json_encode(array_keys($ids)));
        }
        self::assertHandedOutTokensWereIssuedAndNotReplaced(array_merge($burst1, $burst2, $burst3), $requests);
    }

    /**
     * Runs the flows as FastCGI requests, 8 at a time; returns the answers, each with its flow.
     *
     * @param list<string>          $flows
     * @param array<string, string> $extra more params (FLX_TOKEN_STORE, FLX_REFRESH_MIN_AGE)
     *
     * @return list<array<string, mixed>>
     */
    private function burst(array $flows, array $extra = []): array
    {
        \assert($this->pool !== null);
        $params = [];
        foreach ($flows as $flow) {
            $params[] = FpmPool::params($this->script, [
                'FLX_API_URL' => self::server()->url(),
                'FLX_CLIENT_ID' => TokenServer::CLIENT_ID,
                'FLX_CLIENT_SECRET' => TokenServer::CLIENT_SECRET,
                'FLX_FLOW' => $flow,
                'FLX_STATE_DIR' => $this->pool->state,
            ] + $extra);
        }
        $answers = [];
        foreach (FastCgi::run($this->pool->socket, $params, self::WORKERS) as $i => $raw) {
            self::assertSame(200, $raw['status'], $raw['headers'] . $raw['body'] . $this->pool->logs());
            self::assertStringNotContainsString(TokenServer::CLIENT_SECRET, $raw['body'] . $raw['stderr']);
            $a = json_decode($raw['body'], true);
            self::assertIsArray($a, 'not JSON: ' . $raw['body'] . $raw['stderr'] . $this->pool->logs());
            self::assertArrayNotHasKey('error', $a, (string) ($a['error'] ?? '') . $this->pool->logs());
            $answers[] = $a + ['flow' => $flows[$i]];
        }

        return $answers;
    }

    /**
     * @param list<array<string, mixed>> $answers
     *
     * @return array<int, list<array<string, mixed>>> by worker pid, each in the worker's own order
     */
    private static function byWorker(array $answers): array
    {
        $by = [];
        foreach ($answers as $a) {
            $by[$a['pid']][] = $a;
        }
        foreach ($by as &$list) {
            usort($list, static fn (array $x, array $y): int => $x['request_in_process'] <=> $y['request_in_process']);
        }

        return $by;
    }

    /** @param array<string, mixed> $request */
    private static function userAgent(array $request): string
    {
        return (string) ($request['headers']['user-agent'] ?? '');
    }

    /**
     * Every token a request handed out was issued by the server, and had not been replaced when
     * the request began: the request whose refresh replaced it had not ended yet.
     *
     * Which request sent which token request: a worker serves one request at a time, so its token
     * requests (the server's records with its user agent, in arrival order) belong, in order, to
     * its answers that sent any (each sent `requests_sent` of them).
     *
     * @param list<array<string, mixed>> $answers
     * @param list<array<string, mixed>> $requests the server's records
     */
    private static function assertHandedOutTokensWereIssuedAndNotReplaced(array $answers, array $requests): void
    {
        $issued = self::server()->issued();
        $accessOfRefresh = array_combine($issued['refresh_tokens'], $issued['access_tokens']);
        $isIssued = array_flip($issued['access_tokens']);
        $records = [];
        foreach ($requests as $r) {
            $records[self::userAgent($r)][] = $r;
        }
        $replacedAt = [];
        foreach (self::byWorker($answers) as $pid => $list) {
            $mine = $records["fpm-worker-$pid"] ?? [];
            $next = 0;
            foreach ($list as $a) {
                for ($k = 0; $k < $a['requests_sent']; $k++) {
                    self::assertArrayHasKey($next, $mine, "worker $pid: every token request it counted reached the server");
                    $r = $mine[$next++];
                    if ($r['form']['grant_type'] === 'refresh_token' && $r['status'] === 200) {
                        // Its token was replaced once this request had the new one: by its end.
                        $old = $accessOfRefresh[$r['form']['refresh_token']] ?? null;
                        self::assertNotNull($old, 'a refresh with a refresh token the server issued');
                        $replacedAt[$old] = min($replacedAt[$old] ?? INF, $a['end']);
                    }
                }
            }
            self::assertSame(count($mine), $next, "worker $pid: the server saw no token request it did not count");
        }
        foreach ($answers as $a) {
            self::assertArrayHasKey($a['access_token'], $isIssued, 'a token the server issued');
            if (isset($replacedAt[$a['access_token']])) {
                self::assertLessThan(
                    $replacedAt[$a['access_token']],
                    $a['start'],
                    "worker {$a['pid']} handed out a token that had been replaced before its request began"
                );
            }
        }
    }
}
