<?php

declare(strict_types=1);

namespace Flexiti\Auth\Tests;

use Flexiti\Auth\Exception\AuthRejectedException;
use Flexiti\Auth\Exception\InvalidArgumentException;
use Flexiti\Auth\Exception\SessionException;
use Flexiti\Auth\SessionAdapter;
use Flexiti\Auth\Tests\Support\MagentoLikeSession;
use Flexiti\Auth\Tests\Support\SymfonyLikeSession;
use Flexiti\Auth\Tests\Support\TokenServerTestCase;

/** Session JSON round trips, and the Magento-style adapter that keeps it in a user session. */
final class SessionTest extends TokenServerTestCase
{
    public function testExportImportRoundTripCarriesTheTokenToAnotherClient(): void
    {
        $a = $this->client();
        $token = $a->getToken();
        $json = $a->exportSession();

        $session = json_decode($json, true);
        self::assertSame(['created_at', 'expires_in', 'token'], self::keys($session));
        self::assertSame($token['created_at'], $session['created_at']);
        self::assertSame(1200, $session['expires_in']);
        self::assertSame($token['access_token'], $session['token']['access_token']);
        self::assertSame($token['refresh_token'], $session['token']['refresh_token']);

        $b = $this->client(); // e.g. the next request of the same user
        $b->importSession($json);
        self::assertSame($token, $b->getToken(true), 'the imported token is used as it is');
        self::assertSame(['client_credentials'], self::server()->grantTypes());

        $b->getToken();
        $requests = self::server()->requests();
        self::assertSame('refresh_token', $requests[1]['form']['grant_type']);
        self::assertSame($token['refresh_token'], $requests[1]['form']['refresh_token']);
        self::assertNotSame($json, $b->exportSession());
    }

    public function testImportAcceptsTheTokenAsAJsonString(): void
    {
        $client = $this->client();
        $client->importSession((string) json_encode([
            'token' => json_encode(['access_token' => 'from-string', 'refresh_token' => 'r', 'token_type' => 'bearer', 'expires_in' => 1200]),
            'created_at' => time() - 10,
            'expires_in' => 1200,
        ]));
        self::assertSame('from-string', $client->getAccessToken(true));
        self::assertSame([], self::server()->requests());
    }

    public function testClearForgetsTheToken(): void
    {
        $client = $this->client();
        $first = $client->getAccessToken();
        $client->clear();
        self::assertInstanceOf(SessionException::class, self::thrown(static fn () => $client->exportSession()));
        $second = $client->getAccessToken(true);
        self::assertNotSame($first, $second);
        self::assertSame(['client_credentials', 'client_credentials'], self::server()->grantTypes(), 'after clear: a new token, not a refresh');
    }

    /** @return array<string, array{callable(): object, callable(object): array<string, mixed>}> */
    public static function sessions(): array
    {
        return [
            'Magento __call accessors' => [
                static fn (): object => new MagentoLikeSession(),
                static fn (object $s): array => [
                    'FlxOauthToken' => $s->data['flx_oauth_token'] ?? null,
                    'FlxAccessTokenCreatedTime' => $s->data['flx_access_token_created_time'] ?? null,
                    'FlxAccessTokenExpiresIn' => $s->data['flx_access_token_expires_in'] ?? null,
                ],
            ],
            'get/set (Symfony)' => [
                static fn (): object => new SymfonyLikeSession(),
                static fn (object $s): array => [
                    'FlxOauthToken' => $s->attributes['FlxOauthToken'] ?? null,
                    'FlxAccessTokenCreatedTime' => $s->attributes['FlxAccessTokenCreatedTime'] ?? null,
                    'FlxAccessTokenExpiresIn' => $s->attributes['FlxAccessTokenExpiresIn'] ?? null,
                ],
            ],
            'ArrayAccess' => [
                static fn (): object => new \ArrayObject(),
                static fn (object $s): array => [
                    'FlxOauthToken' => $s['FlxOauthToken'] ?? null,
                    'FlxAccessTokenCreatedTime' => $s['FlxAccessTokenCreatedTime'] ?? null,
                    'FlxAccessTokenExpiresIn' => $s['FlxAccessTokenExpiresIn'] ?? null,
                ],
            ],
        ];
    }

    /**
     * @dataProvider sessions
     *
     * @param callable(): object                   $make
     * @param callable(object): array<string, mixed> $stored
     */
    public function testTheAdapterImportsBeforeAndExportsAfterEachCall(callable $make, callable $stored): void
    {
        $session = $make();

        // Request 1: empty session, a new token, stored the guide's way.
        $first = (new SessionAdapter($this->client(), $session))->getToken();
        $values = $stored($session);
        self::assertSame(['client_credentials'], self::server()->grantTypes());
        self::assertIsString($values['FlxOauthToken']);
        $storedToken = json_decode($values['FlxOauthToken'], true);
        self::assertSame($first['access_token'], $storedToken['access_token']);
        self::assertSame($first['refresh_token'], $storedToken['refresh_token']);
        self::assertSame($first['created_at'], $values['FlxAccessTokenCreatedTime']);
        self::assertSame(1200, $values['FlxAccessTokenExpiresIn']);

        // Request 2 (a new client, as after a new PHP request): the price calculator's cached token.
        $cached = (new SessionAdapter($this->client(), $session))->getToken(true);
        self::assertSame($first['access_token'], $cached['access_token']);
        self::assertSame(['client_credentials'], self::server()->grantTypes(), 'no request for the cached token');

        // Request 3: apply/purchase refreshes with the stored refresh token; the session follows.
        $refreshed = (new SessionAdapter($this->client(), $session))->getAccessToken();
        $requests = self::server()->requests();
        self::assertSame('refresh_token', $requests[1]['form']['grant_type']);
        self::assertSame($first['refresh_token'], $requests[1]['form']['refresh_token']);
        self::assertSame($refreshed, json_decode($stored($session)['FlxOauthToken'], true)['access_token']);
        self::assertNotSame($first['access_token'], $refreshed);
    }

    public function testOneClientServingTwoSessionsNeverMixesTheirTokens(): void
    {
        $client = $this->client();
        $alice = new SymfonyLikeSession();
        $bob = new SymfonyLikeSession();

        $aliceToken = (new SessionAdapter($client, $alice))->getAccessToken(true);
        $bobToken = (new SessionAdapter($client, $bob))->getAccessToken(true); // empty session: not Alice's token
        self::assertNotSame($aliceToken, $bobToken);
        self::assertSame(['client_credentials', 'client_credentials'], self::server()->grantTypes());
        self::assertSame($aliceToken, (new SessionAdapter($client, $alice))->getAccessToken(true));
        self::assertCount(2, self::server()->requests());
    }

    public function testASessionWrittenByTheGuideCodeIsUsed(): void
    {
        // The guide stores json_encode($response) and the created time; it never sets the expires-in.
        $session = new MagentoLikeSession();
        $session->setFlxOauthToken(json_encode([
            'access_token' => 'guide-access', 'expires_in' => 1200, 'refresh_token' => 'guide-refresh', 'token_type' => 'bearer',
        ]));
        $session->setFlxAccessTokenCreatedTime(time() - 30);

        $adapter = new SessionAdapter($this->client(), $session);
        self::assertSame('guide-access', $adapter->getAccessToken(true));
        self::assertSame([], self::server()->requests());
        self::assertNull($adapter->lastImportProblem());
        self::assertSame(1200, $session->getFlxAccessTokenExpiresIn(), 'written back in full');

        // Created time as a numeric string (some session stores keep strings) and an expired token.
        $session->setFlxAccessTokenCreatedTime((string) (time() - 1200));
        $adapter->getAccessToken(true);
        self::assertSame(['client_credentials'], self::server()->grantTypes());
    }

    public function testAnUnusableSessionValueIsReplacedByANewToken(): void
    {
        $session = new SymfonyLikeSession();
        $session->set('FlxOauthToken', '{"access_token": broken');
        $session->set('FlxAccessTokenCreatedTime', time());
        $session->set('FlxAccessTokenExpiresIn', 1200);

        $adapter = new SessionAdapter($this->client(), $session);
        $token = $adapter->getToken(true);
        self::assertNotNull($adapter->lastImportProblem());
        self::assertSame(['client_credentials'], self::server()->grantTypes());
        self::assertSame($token['access_token'], json_decode($session->get('FlxOauthToken'), true)['access_token']);
    }

    public function testAFailedCallLeavesTheSessionAsItWas(): void
    {
        $session = new \ArrayObject();
        (new SessionAdapter($this->client(), $session))->getToken();
        $before = $session->getArrayCopy();

        self::server()->faults([['status' => 400, 'body' => '{"error":"invalid_client"}', 'headers' => ['Content-Type' => 'application/json'], 'count' => 2]]);
        $e = self::thrown(fn () => (new SessionAdapter($this->client(), $session))->getToken());
        self::assertInstanceOf(AuthRejectedException::class, $e);
        self::assertSame($before, $session->getArrayCopy());
    }

    public function testClearEmptiesTheSession(): void
    {
        $session = new MagentoLikeSession();
        $adapter = new SessionAdapter($this->client(), $session);
        $adapter->getToken();
        $adapter->clear();
        self::assertNull($session->getFlxOauthToken());
        self::assertNull($session->getFlxAccessTokenCreatedTime());
        self::assertNull($session->getFlxAccessTokenExpiresIn());
        $adapter->getToken(true);
        self::assertSame(['client_credentials', 'client_credentials'], self::server()->grantTypes());
    }

    public function testCustomKeysAndBadSessions(): void
    {
        $session = new \ArrayObject();
        $adapter = new SessionAdapter($this->client(), $session, ['token' => 'flexiti_token', 'created_at' => 'flexiti_created', 'expires_in' => 'flexiti_ttl']);
        $adapter->getToken();
        self::assertSame(['flexiti_created', 'flexiti_token', 'flexiti_ttl'], self::keys($session->getArrayCopy()));

        $client = $this->client();
        self::assertInstanceOf(InvalidArgumentException::class, self::thrown(static fn () => new SessionAdapter($client, new \stdClass())));
        self::assertInstanceOf(InvalidArgumentException::class, self::thrown(static fn () => new SessionAdapter($client, 'session')));
        self::assertInstanceOf(InvalidArgumentException::class, self::thrown(static fn () => new SessionAdapter($client, $session, ['tokn' => 'x'])));
        self::assertInstanceOf(InvalidArgumentException::class, self::thrown(static fn () => new SessionAdapter($client, $session, ['token' => 'a b'])));
    }

    /** @param array<string, mixed> $a @return list<string> */
    private static function keys(array $a): array
    {
        $keys = array_keys($a);
        sort($keys);

        return $keys;
    }

    private static function thrown(callable $f): \Throwable
    {
        try {
            $f();
        } catch (\Throwable $e) {
            return $e;
        }
        self::fail('expected an exception');
    }
}
