<?php

declare(strict_types=1);

namespace Flexiti\Auth\Tests;

use Flexiti\Auth\Exception\InvalidArgumentException;
use Flexiti\Auth\SessionAdapter;
use Flexiti\Auth\Tests\Support\SymfonyLikeSession;
use Flexiti\Auth\Tests\Support\TokenServer;
use Flexiti\Auth\Tests\Support\TokenServerTestCase;
use Flexiti\Auth\TokenClient;

/**
 * TokenClient::persistent(): one library handle per account and process, whose token, options
 * and kept-alive connection outlive the TokenClient objects (as they outlive a request in an FPM
 * worker), and SessionAdapter over it. The handle of this class's token server lives as long as
 * the phpunit process: each test starts by forgetting its token.
 */
final class PersistentTest extends TokenServerTestCase
{
    protected function setUp(): void
    {
        parent::setUp();
        $this->persistent()->clear();
    }

    /** @param array<string, mixed> $options */
    private function persistent(array $options = []): TokenClient
    {
        return TokenClient::persistent(
            self::server()->url(),
            TokenServer::CLIENT_ID,
            TokenServer::CLIENT_SECRET,
            $options + ['library' => (string) getenv('FLEXITI_AUTH_LIB')]
        );
    }

    /** @return list<int> */
    private static function connectionIds(): array
    {
        return array_map(static fn (array $r): int => (int) $r['connection_id'], self::server()->requests());
    }

    public function testTheTokenAndTheConnectionOutliveTheObject(): void
    {
        $first = $this->persistent(['max_retries' => 0]);
        self::assertTrue($first->isPersistent());
        $token = $first->getAccessToken();
        unset($first); // the destructor frees nothing: the handle is the process's

        // "The next request": a new object over the same handle, its token, no request.
        $second = $this->persistent(['max_retries' => 0]);
        self::assertSame($token, $second->getAccessToken(true));
        self::assertSame(['client_credentials'], self::server()->grantTypes());

        // Its refresh goes out on the connection the first object opened.
        $refreshed = $second->getAccessToken();
        self::assertNotSame($token, $refreshed);
        self::assertSame(['client_credentials', 'refresh_token'], self::server()->grantTypes());
        $ids = self::connectionIds();
        self::assertSame($ids[0], $ids[1], 'the refresh reused the kept-alive connection');

        // A plain client of the same account is not the shared handle.
        $plain = $this->client();
        self::assertFalse($plain->isPersistent());
        self::assertNotSame($refreshed, $plain->getAccessToken(true));
    }

    public function testOptionsGivenOnEveryRequestCostNoNewConnection(): void
    {
        $tokens = [];
        for ($i = 0; $i < 4; $i++) {
            // What request code does: the same options each time it takes the client.
            $client = $this->persistent(['timeout_ms' => 15000, 'connect_timeout_ms' => 5000, 'max_retries' => 0, 'proxy' => 'none']);
            $tokens[] = $client->getAccessToken();
        }
        self::assertCount(4, array_unique($tokens));
        $ids = self::connectionIds();
        self::assertCount(4, $ids);
        self::assertCount(1, array_unique($ids), 'all four token requests on one connection: ' . json_encode($ids));
        self::assertSame(['client_credentials', 'refresh_token', 'refresh_token', 'refresh_token'], self::server()->grantTypes());

        // A changed value takes effect (a new transport: a new connection), then stays.
        $this->persistent(['timeout_ms' => 14000])->getAccessToken();
        $this->persistent(['timeout_ms' => 14000])->getAccessToken();
        $ids = self::connectionIds();
        self::assertNotSame($ids[3], $ids[4]);
        self::assertSame($ids[4], $ids[5]);
        $this->persistent(['timeout_ms' => 15000]);
    }

    public function testAnEmptySessionNeverClearsTheSharedToken(): void
    {
        $client = $this->persistent(['max_retries' => 0]);
        $alice = new SymfonyLikeSession();
        $bob = new SymfonyLikeSession();

        $shared = (new SessionAdapter($client, $alice))->getAccessToken(true);

        // Bob's session is empty: he gets the shared token, not a new one, and nobody loses it.
        self::assertSame($shared, (new SessionAdapter($this->persistent(), $bob))->getAccessToken(true));
        self::assertSame($shared, $this->persistent()->getAccessToken(true));
        self::assertSame(['client_credentials'], self::server()->grantTypes());

        // The shared token is mirrored into both sessions under the guide's keys.
        foreach ([$alice, $bob] as $session) {
            self::assertSame($shared, json_decode((string) $session->get('FlxOauthToken'), true)['access_token']);
            self::assertIsInt($session->get('FlxAccessTokenCreatedTime'));
            self::assertSame(1200, $session->get('FlxAccessTokenExpiresIn'));
        }

        // A session holding another (old, foreign or broken) token does not replace the shared one.
        $carol = new SymfonyLikeSession();
        $carol->set('FlxOauthToken', json_encode(['access_token' => 'old-token', 'refresh_token' => 'old-refresh', 'expires_in' => 1200]));
        $carol->set('FlxAccessTokenCreatedTime', time() - 30);
        $carol->set('FlxAccessTokenExpiresIn', 1200);
        $adapter = new SessionAdapter($this->persistent(), $carol);
        self::assertSame($shared, $adapter->getAccessToken(true));
        self::assertNull($adapter->lastImportProblem());
        self::assertSame($shared, json_decode((string) $carol->get('FlxOauthToken'), true)['access_token']);

        // A purchase through a session refreshes the shared token (with the handle's own refresh
        // token, never a session's), and every session then mirrors the new one.
        $refreshed = (new SessionAdapter($this->persistent(), $bob))->getAccessToken();
        self::assertSame('refresh_token', self::server()->requests()[1]['form']['grant_type']);
        self::assertNotSame('old-refresh', self::server()->requests()[1]['form']['refresh_token']);
        self::assertSame($refreshed, (new SessionAdapter($this->persistent(), $alice))->getAccessToken(true));
        self::assertSame($refreshed, json_decode((string) $alice->get('FlxOauthToken'), true)['access_token']);

        // Bob logs out: his session forgets the values, the shared token stays for the others.
        (new SessionAdapter($this->persistent(), $bob))->clear();
        self::assertNull($bob->get('FlxOauthToken'));
        self::assertNull($bob->get('FlxAccessTokenCreatedTime'));
        self::assertSame($refreshed, $this->persistent()->getAccessToken(true));
        self::assertSame(['client_credentials', 'refresh_token'], self::server()->grantTypes());
    }

    public function testThe65thAccountOfAProcessIsRefused(): void
    {
        // In a process of its own: the limit is per process, and this one must stay usable.
        $script = <<<'PHP'
            require $argv[1];
            $made = 0;
            for ($i = 0; $i < 65; $i++) {
                try {
                    Flexiti\Auth\TokenClient::persistent('https://posapi.example.com/', "merchant-$i", 'the-secret', ['library' => $argv[2]]);
                    $made++;
                } catch (Flexiti\Auth\Exception\InvalidArgumentException $e) {
                    echo json_encode(['made' => $made, 'index' => $i, 'message' => $e->getMessage()]);
                    exit(0);
                }
            }
            echo json_encode(['made' => $made]);
            PHP;
        $out = shell_exec(implode(' ', array_map('escapeshellarg', [
            PHP_BINARY, '-d', 'ffi.enable=1', '-r', $script, dirname(__DIR__) . '/autoload.php', (string) getenv('FLEXITI_AUTH_LIB'),
        ])));
        $result = json_decode((string) $out, true);
        self::assertIsArray($result, (string) $out);
        self::assertSame(64, $result['made']);
        self::assertSame(64, $result['index'] ?? null);
        self::assertStringContainsString('64 persistent handles', $result['message']);
        self::assertStringNotContainsString('the-secret', $result['message']);
        self::assertTrue(class_exists(InvalidArgumentException::class));
    }

    public function testTheSharedHandleStopsWritingToALoggersFileWhenItsObjectGoes(): void
    {
        $first = $this->persistent(['log_drain' => true, 'log_level' => 'info']);
        $first->getAccessToken();
        self::assertNotSame([], $first->drainLogs());
        self::assertSame(2, self::openLogFiles(), 'the library and the binding each hold the private log file');
        unset($first);
        self::assertSame(0, self::openLogFiles(), 'the shared handle closed the removed private log file');

        $second = $this->persistent(['log_drain' => true, 'log_level' => 'off']);
        $second->getAccessToken();
        self::assertSame([], $second->drainLogs());
        unset($second);
        $this->persistent(['log_level' => 'off']);
    }

    /** Descriptors of this process open on a private log file of the binding. */
    private static function openLogFiles(): int
    {
        $n = 0;
        foreach ((array) glob('/proc/self/fd/*') as $fd) {
            if (strpos((string) @readlink((string) $fd), 'flexiti-auth-log-') !== false) {
                $n++;
            }
        }

        return $n;
    }
}
