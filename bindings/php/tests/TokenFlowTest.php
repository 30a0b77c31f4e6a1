<?php

declare(strict_types=1);

namespace Flexiti\Auth\Tests;

use Flexiti\Auth\Exception\HttpStatusException;
use Flexiti\Auth\Tests\Support\TokenServer;
use Flexiti\Auth\Tests\Support\TokenServerTestCase;
use Flexiti\Auth\TokenClient;

/** New token, cache, refresh, fallback, expiry boundary: what goes on the wire and what comes back. */
final class TokenFlowTest extends TokenServerTestCase
{
    public function testNewTokenIsAskedWithClientCredentials(): void
    {
        $client = $this->client();
        $before = time();
        $token = $client->getToken();
        $after = time();

        $requests = self::server()->requests();
        self::assertCount(1, $requests);
        self::assertSame('POST', $requests[0]['method']);
        self::assertSame('/flexiti/online-api/oauth/token', $requests[0]['path']);
        self::assertSame([
            'client_id' => TokenServer::CLIENT_ID,
            'client_secret' => TokenServer::CLIENT_SECRET,
            'grant_type' => 'client_credentials',
        ], self::sorted($requests[0]['form']));

        $issued = self::server()->issued();
        self::assertSame($issued['access_tokens'], [$token['access_token']]);
        self::assertSame($issued['refresh_tokens'], [$token['refresh_token']]);
        self::assertSame(1200, $token['expires_in']);
        self::assertSame('bearer', $token['token_type']);
        self::assertIsInt($token['created_at']);
        self::assertGreaterThanOrEqual($before, $token['created_at']);
        self::assertLessThanOrEqual($after, $token['created_at']);
    }

    public function testGetAccessTokenReturnsTheBareTokenOfTheHeldToken(): void
    {
        $client = $this->client();
        $access = $client->getAccessToken();
        self::assertSame(self::server()->issued()['access_tokens'], [$access]);
        self::assertSame($access, $client->getToken(true)['access_token']);
        self::assertSame(['client_credentials'], self::server()->grantTypes(), 'the cached call sent nothing');
    }

    public function testCacheReturnsTheHeldTokenWithoutARequest(): void
    {
        $client = $this->client();
        $first = $client->getToken(true); // nothing held: a new one
        $second = $client->getToken(true);
        $third = $client->getAccessToken(true);

        self::assertSame(['client_credentials'], self::server()->grantTypes());
        self::assertSame($first, $second);
        self::assertSame($first['access_token'], $third);
    }

    public function testWithoutCacheAValidTokenIsRefreshedWithItsRefreshToken(): void
    {
        $client = $this->client();
        $first = $client->getToken();
        $second = $client->getToken();
        $third = $client->getToken();

        $requests = self::server()->requests();
        self::assertSame(['client_credentials', 'refresh_token', 'refresh_token'], self::server()->grantTypes());
        self::assertSame($first['refresh_token'], $requests[1]['form']['refresh_token']);
        self::assertSame($second['refresh_token'], $requests[2]['form']['refresh_token'], 'refresh tokens rotate');
        self::assertSame(TokenServer::CLIENT_ID, $requests[1]['form']['client_id']);
        self::assertSame(TokenServer::CLIENT_SECRET, $requests[1]['form']['client_secret']);
        self::assertNotSame($first['access_token'], $second['access_token']);
        self::assertNotSame($second['access_token'], $third['access_token']);
        self::assertSame($third, $client->getToken(true), 'the refreshed token is the one held');
    }

    /**
     * The getters copy into a 4 KiB buffer: a token that does not fit is taken through the
     * cached path without a second request (a use_cache=false call still refreshes once).
     */
    public function testTokensLongerThanTheBindingsBufferAreReturnedWholeWithOneRequestEach(): void
    {
        self::server()->config(['token_bytes' => 12000]);
        $client = $this->client();
        $first = $client->getToken();
        self::assertGreaterThan(4096, strlen($first['access_token']), 'the access token alone does not fit the buffer');
        self::assertSame(['client_credentials'], self::server()->grantTypes());
        $second = $client->getToken();
        $access = $client->getAccessToken();
        self::assertSame(['client_credentials', 'refresh_token', 'refresh_token'], self::server()->grantTypes());
        $issued = self::server()->issued();
        self::assertSame($issued['access_tokens'], [$first['access_token'], $second['access_token'], $access]);
        self::assertSame($issued['refresh_tokens'][1], $second['refresh_token']);
        self::assertSame($access, $client->getAccessToken(true));
        self::assertSame($access, $client->getToken(true)['access_token']);
        self::assertCount(3, self::server()->requests(), 'the cached calls sent nothing');

        // Short tokens again after long ones: the buffer serves them.
        self::server()->config(['token_bytes' => 32]);
        $short = $client->getAccessToken();
        self::assertSame(end(self::server()->issued()['access_tokens']), $short);
        self::assertLessThan(100, strlen($short));
        self::assertSame($short, $client->getToken(true)['access_token']);
    }

    public function testARefusedRefreshFallsBackOnceToClientCredentials(): void
    {
        $client = $this->client();
        $first = $client->getToken();
        self::server()->expire(); // the server forgets every token: the refresh gets invalid_grant

        $token = $client->getToken();

        $requests = self::server()->requests();
        self::assertSame(['client_credentials', 'refresh_token', 'client_credentials'], self::server()->grantTypes());
        self::assertSame(400, $requests[1]['status']);
        self::assertSame($first['refresh_token'], $requests[1]['form']['refresh_token']);
        self::assertSame(200, $requests[2]['status']);
        $issued = self::server()->issued()['access_tokens'];
        self::assertSame(end($issued), $token['access_token']);
        self::assertSame($token, $client->getToken(true));
    }

    public function testATokenAtTheExpiryBoundaryIsReplacedNotRefreshed(): void
    {
        // Exactly expires_in - threshold seconds old: expired (the guide's >=).
        $client = $this->client();
        $client->importSession(self::session('old-access', 'old-refresh', time() - (1200 - 60), 1200));
        $token = $client->getToken(true);
        self::assertSame(['client_credentials'], self::server()->grantTypes(), 'an expired token is neither cached nor refreshed');
        self::assertNotSame('old-access', $token['access_token']);

        self::server()->reset();
        $client->importSession(self::session('old-access', 'old-refresh', time() - (1200 - 60), 1200));
        $client->getToken(false);
        self::assertSame(['client_credentials'], self::server()->grantTypes());
    }

    public function testATokenJustInsideTheThresholdIsStillCached(): void
    {
        // A few seconds younger than the boundary: still valid (the margin covers a clock tick).
        $client = $this->client();
        $client->importSession(self::session('young-access', 'young-refresh', time() - (1200 - 60) + 5, 1200));
        self::assertSame('young-access', $client->getAccessToken(true));
        self::assertSame([], self::server()->grantTypes());

        // The same age with a larger threshold is expired: the option reaches the decision.
        $client->setOption('expiration_threshold_secs', 70);
        self::assertNotSame('young-access', $client->getAccessToken(true));
        self::assertSame(['client_credentials'], self::server()->grantTypes());
    }

    public function testATokenNoLongerThanTheThresholdIsAlwaysExpired(): void
    {
        self::server()->config(['expires_in' => 60]); // == the default threshold
        $client = $this->client();
        $a = $client->getAccessToken(true);
        $b = $client->getAccessToken(true);
        self::assertNotSame($a, $b);
        self::assertSame(['client_credentials', 'client_credentials'], self::server()->grantTypes());
    }

    /** @dataProvider expiryCases */
    public function testIsAccessTokenExpiredIsTheGuideFormula(int $createdAt, int $expiresIn, int $now, ?int $threshold, bool $expected): void
    {
        $actual = $threshold === null
            ? TokenClient::isAccessTokenExpired($createdAt, $expiresIn, $now)
            : TokenClient::isAccessTokenExpired($createdAt, $expiresIn, $now, $threshold);
        self::assertSame($expected, $actual);
    }

    /** @return array<string, array{int, int, int, int|null, bool}> */
    public static function expiryCases(): array
    {
        return [
            'fresh' => [1000, 1200, 1000, null, false],
            'one second before the default boundary' => [1000, 1200, 1000 + 1139, null, false],
            'at the default boundary' => [1000, 1200, 1000 + 1140, null, true],
            'past it' => [1000, 1200, 5000, null, true],
            'threshold 0, last second' => [0, 1200, 1199, 0, false],
            'threshold 0, at expires_in' => [0, 1200, 1200, 0, true],
            'expires_in equal to the threshold' => [1000, 60, 1000, 60, true],
            'created in the future' => [2000, 1200, 1000, 60, false],
            'no overflow: huge age' => [PHP_INT_MIN, 1200, PHP_INT_MAX, 60, true],
            'no overflow: far future' => [PHP_INT_MAX, PHP_INT_MAX, PHP_INT_MIN, 0, false],
            'no overflow: negative threshold' => [0, PHP_INT_MAX, PHP_INT_MAX, PHP_INT_MIN, false],
        ];
    }

    public function testAFailedRequestLeavesTheHeldTokenUnchanged(): void
    {
        $client = $this->client();
        $client->getToken();
        $session = $client->exportSession();
        self::server()->faults([['status' => 503, 'body' => 'down', 'count' => 1]]);

        try {
            $client->getToken();
            self::fail('a 503 must throw');
        } catch (HttpStatusException $e) {
            self::assertSame(3, $e->getCode());
        }
        self::assertSame($session, $client->exportSession());
        self::assertSame(json_decode($session, true)['token']['access_token'], $client->getAccessToken(true));
        self::assertSame(['client_credentials', 'refresh_token'], self::server()->grantTypes());
    }

    public function testOptionsAreSetByNameFromStringsIntsAndReachTheWire(): void
    {
        $client = $this->client([
            'token_path' => 'flexiti/pos-api/v2.5/oauth/token',
            'user_agent' => 'flexiti-php-test/1',
            'scope' => 'merchant',
            'timeout_ms' => 5000,
            'proxy' => 'none',
        ]);
        $client->getToken();
        $request = self::server()->requests()[0];
        self::assertSame('/flexiti/pos-api/v2.5/oauth/token', $request['path']);
        self::assertSame('flexiti-php-test/1', $request['headers']['user-agent']);
        self::assertSame('merchant', $request['form']['scope'] ?? null);
    }

    public function testMaxRetriesIsPassedAsAnInt(): void
    {
        self::server()->faults([['status' => 503, 'body' => 'busy', 'count' => 5]]);
        $client = $this->client(['max_retries' => 2]);
        try {
            $client->getToken();
            self::fail('three 503s must throw');
        } catch (HttpStatusException $e) {
            self::assertStringContainsString('503', $e->getMessage());
        }
        self::assertCount(3, self::server()->requests(), 'one try and two retries');
    }

    public function testStatsCountWhatHappened(): void
    {
        $client = $this->client();
        self::assertFalse($client->stats()['token_held']);
        $client->getToken();
        $client->getToken(true);
        $client->getToken();
        $stats = $client->stats();
        self::assertSame(['client_credentials' => 1, 'refresh_token' => 1], $stats['requests']);
        self::assertSame(1, $stats['cache_hits']);
        self::assertSame(1, $stats['new_tokens']);
        self::assertSame(1, $stats['refreshes']);
        self::assertTrue($stats['token_held']);
        self::assertSame(1200, $stats['token_expires_in']);
    }

    public function testLogLinesGoToTheLogFileWithoutSecrets(): void
    {
        $log = tempnam(sys_get_temp_dir(), 'flexiti-php-log-');
        try {
            $client = $this->client(['log_level' => 'debug', 'log_file' => $log]);
            $token = $client->getToken();
            $client->getToken();
            unset($client);
            $text = (string) file_get_contents($log);
            self::assertStringContainsString('client_credentials', $text);
            self::assertStringContainsString('refresh_token', $text);
            self::assertStringNotContainsString(TokenServer::CLIENT_SECRET, $text);
            self::assertStringNotContainsString($token['access_token'], $text);
            self::assertStringNotContainsString($token['refresh_token'], $text);
        } finally {
            @unlink($log);
        }
    }

    public function testLibraryVersionAndInfo(): void
    {
        $info = TokenClient::libraryInfo(['library' => (string) getenv('FLEXITI_AUTH_LIB')]);
        self::assertMatchesRegularExpression('/^\d+\.\d+\.\d+/', $info['version']);
        self::assertSame($info['version'], TokenClient::libraryVersion());
        self::assertSame('option', $info['source']);
        self::assertSame(realpath((string) getenv('FLEXITI_AUTH_LIB')), $info['path']);
        self::assertStringEndsWith('flexiti_auth_php.h', (string) $info['header']);
    }

    /** @param array<string, mixed> $form @return array<string, mixed> */
    private static function sorted(array $form): array
    {
        ksort($form);

        return $form;
    }

    private static function session(string $access, string $refresh, int $createdAt, int $expiresIn): string
    {
        return (string) json_encode([
            'token' => ['access_token' => $access, 'refresh_token' => $refresh, 'token_type' => 'bearer', 'expires_in' => $expiresIn],
            'created_at' => $createdAt,
            'expires_in' => $expiresIn,
        ]);
    }
}
