<?php

declare(strict_types=1);

namespace Flexiti\Auth\Tests;

use Flexiti\Auth\Exception\BadResponseException;
use Flexiti\Auth\Exception\InvalidArgumentException;
use Flexiti\Auth\Exception\NetworkException;
use Flexiti\Auth\Tests\Support\TokenServer;
use Flexiti\Auth\Tests\Support\TokenServerTestCase;
use Flexiti\Auth\TokenClient;

/**
 * TokenClient->request(): authenticated POS-API calls made by the library (flx_request), against
 * the token server's POS-API style endpoints. Each test asserts what went on the wire (the
 * server's request log) and what came back; the binding adds no retry of its own.
 */
final class RequestTest extends TokenServerTestCase
{
    /** @return list<array<string, mixed>> the POS-API requests the server received */
    private static function api(): array
    {
        return array_values(array_filter(self::server()->requests(), fn (array $r) => ($r['kind'] ?? null) === 'api'));
    }

    /** @return list<string> the grant types of the token requests */
    private static function grants(): array
    {
        return array_values(array_map(
            fn (array $r) => $r['form']['grant_type'],
            array_filter(self::server()->requests(), fn (array $r) => ($r['kind'] ?? null) !== 'api')
        ));
    }

    public function testGetCarriesTheCurrentTokenAndReturnsDecodedJson(): void
    {
        $client = $this->client();
        $r = $client->request('GET', 'flexiti/pos-api/v2.5/customers/42?lang=en');
        self::assertSame(200, $r['status']);
        $token = self::server()->issued()['access_tokens'][0];
        self::assertSame('Bearer ' . $token, $r['body']['headers']['authorization']);
        self::assertSame('/flexiti/pos-api/v2.5/customers/42', $r['body']['path']);
        self::assertSame('application/json', $r['body']['headers']['accept']);
        self::assertSame(36, strlen($r['body']['headers']['x-reference-id']));
        self::assertStringStartsWith('application/json', $r['headers']['content-type']);
        self::assertSame(['client_credentials'], self::grants());
        $wire = self::api();
        self::assertCount(1, $wire);
        self::assertSame(self::server()->requests()[0]['connection_id'], $wire[0]['connection_id'], 'one kept-alive connection');
    }

    public function testJsonBodyHeadersAndErrorBodies(): void
    {
        $client = $this->client();
        $r = $client->request('POST', 'api/echo', ['amount' => 12.5, 'name' => 'café'], ['X-Store' => '7', 'x-echo-status' => '422']);
        self::assertSame(422, $r['status']);
        self::assertSame(['amount' => 12.5, 'name' => 'café'], $r['body']['json']);
        self::assertSame($r['body'], $r['json']);
        self::assertSame('application/json', $r['body']['headers']['content-type']);
        self::assertSame('7', $r['body']['headers']['x-store']);
        self::assertCount(1, self::api(), 'a 422 is returned, not retried');
        self::server()->faults([['api' => true, 'status' => 500, 'body' => '<html>oops</html>']]);
        $r = $client->request('GET', 'api/echo', null, ['X-A: 1']);
        self::assertSame([500, '<html>oops</html>', '<html>oops</html>'], [$r['status'], $r['body'], $r['raw']]);
        self::assertNull($r['json']);
    }

    public function testInvalidTokenIsResentOnceWithANewToken(): void
    {
        $client = $this->client();
        $old = $client->getAccessToken(true);
        $r = $client->request('POST', 'api/invalid-token-once/php', ['n' => 1]);
        self::assertSame(200, $r['status']);
        $new = $client->getAccessToken(true);
        self::assertNotSame($old, $new);
        self::assertSame('Bearer ' . $new, $r['body']['headers']['authorization']);
        $wire = self::api();
        self::assertSame([401, 200], array_column($wire, 'status'));
        self::assertSame('{"n":1}', $wire[1]['body']);
        self::assertSame(['client_credentials', 'client_credentials'], self::grants());
    }

    public function testATokenRevokedByAnotherClientIsRecovered(): void
    {
        $a = $this->client();
        $b = $this->client();
        $a->request('GET', 'api/echo');
        $b->importSession($a->exportSession());
        $b->getAccessToken(false); // a refresh: the server revokes a's token
        $r = $a->request('GET', 'api/echo');
        self::assertSame(200, $r['status']);
        self::assertSame('Bearer ' . $a->getAccessToken(true), $r['body']['headers']['authorization']);
        self::assertSame([200, 401, 200], array_column(self::api(), 'status'));
    }

    public function testGetIsRetriedButPostIsNot(): void
    {
        $client = $this->client(['max_retries' => 2]);
        $r = $client->request('GET', 'api/unavailable/5/g');
        self::assertSame([503, 3], [$r['status'], $r['body']['attempt']]);
        self::assertCount(3, self::api());
        $r = $client->request('POST', 'api/unavailable/5/p?retry_after=0', []);
        self::assertSame(503, $r['status']);
        self::assertCount(4, self::api());
        self::server()->faults([['api' => true, 'reset_after_bytes' => 0]]);
        try {
            $client->request('POST', 'api/echo', []);
            self::fail('a reset must throw');
        } catch (NetworkException $e) {
            self::assertStringContainsString('not retried', $e->getMessage());
        }
        self::assertCount(5, self::api(), 'a POST is never resent after a reset');
        self::server()->faults([['api' => true, 'reset_after_bytes' => 0]]);
        self::assertSame(200, $client->request('GET', 'api/echo')['status']);
        self::assertCount(7, self::api(), 'a GET is');
    }

    /** @return array<string, array{0: array<string|int, string>}> */
    public static function injections(): array
    {
        return [
            'CRLF in a value' => [['X-A' => "1\r\nX-Evil: 2"]],
            'LF in a value' => [['X-A' => "1\nX-Evil: 2"]],
            'Authorization' => [['Authorization' => 'Bearer stolen']],
            'Host' => [['host' => 'evil.example']],
            'bad name' => [['Bad Name' => 'x']],
            'line form' => [['X-A: 1', 'AUTHORIZATION: x']],
        ];
    }

    /**
     * @dataProvider injections
     *
     * @param array<string|int, string> $headers
     */
    public function testHeaderInjectionIsRefusedWithNothingSent(array $headers): void
    {
        $client = $this->client();
        $this->expectException(InvalidArgumentException::class);
        try {
            $client->request('GET', 'api/echo', null, $headers, false);
        } finally {
            self::assertSame([], self::server()->requests(), 'no API request and no token request');
        }
    }

    public function testBadMethodAndOversizedAnswer(): void
    {
        $client = $this->client();
        try {
            $client->request('TRACE', 'api/echo');
            self::fail('TRACE must be refused');
        } catch (InvalidArgumentException $e) {
            self::assertSame([], self::server()->requests());
        }
        try {
            $client->request('GET', 'api/oversize/9000000');
            self::fail('an answer over 8 MiB must be refused');
        } catch (BadResponseException $e) {
            self::assertStringContainsString('max_response_bytes', $e->getMessage());
        }
        $client->setOption('max_response_bytes', 9000000);
        self::assertSame(9000000, strlen($client->request('GET', 'api/oversize/9000000')['raw']));
    }

    public function testLogsGoToTheLoggerWithoutTheToken(): void
    {
        $logger = new Support\RecordingLogger();
        $client = $this->client(['logger' => $logger, 'log_level' => 'debug']);
        $client->request('GET', 'api/invalid-token-once/log');
        $token = $client->getAccessToken(true);
        $text = implode("\n", array_column($logger->records, 'message'));
        self::assertStringContainsString('invalid_token', $text);
        self::assertStringNotContainsString($token, $text);
        self::assertStringNotContainsString(TokenServer::CLIENT_SECRET, $text);
    }
}
