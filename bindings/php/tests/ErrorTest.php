<?php

declare(strict_types=1);

namespace Flexiti\Auth\Tests;

use Flexiti\Auth\Exception\AuthRejectedException;
use Flexiti\Auth\Exception\BadResponseException;
use Flexiti\Auth\Exception\FlexitiException;
use Flexiti\Auth\Exception\HttpStatusException;
use Flexiti\Auth\Exception\InternalException;
use Flexiti\Auth\Exception\StoreException;
use Flexiti\Auth\Exception\InvalidArgumentException;
use Flexiti\Auth\Exception\NetworkException;
use Flexiti\Auth\Exception\SessionException;
use Flexiti\Auth\Tests\Support\TokenServer;
use Flexiti\Auth\Tests\Support\TokenServerTestCase;
use Flexiti\Auth\TokenClient;

/** Each failure is a typed exception with the library's code and message; bad arguments are refused. */
final class ErrorTest extends TokenServerTestCase
{
    public function testWrongSecretIsAuthRejectedWithoutTheSecretInTheMessage(): void
    {
        $secret = 'wrong-secret-d41d8cd98f00';
        $client = $this->client([], $secret);
        $e = self::thrown(static fn () => $client->getToken());

        self::assertInstanceOf(AuthRejectedException::class, $e);
        self::assertInstanceOf(FlexitiException::class, $e);
        self::assertSame(FlexitiException::FLX_ERR_AUTH_REJECTED, $e->getCode());
        self::assertSame('FLX_ERR_AUTH_REJECTED', $e->getStatusName());
        self::assertStringContainsString('invalid_client', $e->getMessage());
        self::assertStringNotContainsString($secret, $e->getMessage());
        self::assertSame($secret, self::server()->requests()[0]['form']['client_secret'], 'the secret went on the wire');
        self::assertThrows(SessionException::class, static fn () => $client->exportSession(), 'no token is held after a refusal');
    }

    public function testServerErrorStatusIsHttpStatusException(): void
    {
        self::server()->faults([['status' => 502, 'body' => 'bad gateway', 'count' => 1]]);
        $e = self::thrown(fn () => $this->client()->getToken());
        self::assertInstanceOf(HttpStatusException::class, $e);
        self::assertSame(3, $e->getCode());
        self::assertStringContainsString('502', $e->getMessage());
    }

    public function testA2xxThatIsNotATokenIsBadResponse(): void
    {
        self::server()->faults([['status' => 200, 'body' => 'this is not json', 'headers' => ['Content-Type' => 'text/plain'], 'count' => 1]]);
        $e = self::thrown(fn () => $this->client()->getAccessToken());
        self::assertInstanceOf(BadResponseException::class, $e);
        self::assertSame(5, $e->getCode());
        self::assertNotSame('', $e->getMessage());
    }

    public function testAClosedConnectionIsNetworkException(): void
    {
        self::server()->faults([['close' => true, 'count' => 1]]);
        $e = self::thrown(fn () => $this->client()->getToken());
        self::assertInstanceOf(NetworkException::class, $e);
        self::assertSame(2, $e->getCode());
    }

    public function testAnUnreachableEndpointIsNetworkException(): void
    {
        $socket = stream_socket_server('tcp://127.0.0.1:0');
        self::assertIsResource($socket);
        $port = (int) substr((string) strrchr((string) stream_socket_get_name($socket, false), ':'), 1);
        fclose($socket); // nothing listens there now

        $client = new TokenClient("http://127.0.0.1:$port/", TokenServer::CLIENT_ID, TokenServer::CLIENT_SECRET, [
            'library' => (string) getenv('FLEXITI_AUTH_LIB'),
            'max_retries' => 0,
            'connect_timeout_ms' => 2000,
        ]);
        $e = self::thrown(static fn () => $client->getToken());
        self::assertInstanceOf(NetworkException::class, $e);
        self::assertSame('FLX_ERR_NETWORK', $e->getStatusName());
    }

    public function testSessionErrors(): void
    {
        $client = $this->client();
        $e = self::thrown(static fn () => $client->exportSession());
        self::assertInstanceOf(SessionException::class, $e);
        self::assertSame(6, $e->getCode());

        $client->getToken();
        $held = $client->exportSession();
        foreach (['', '{', '[]', '{"token":{}}', '{"token":{"access_token":"a"},"created_at":"1","expires_in":1200}'] as $bad) {
            $e = self::thrown(static fn () => $client->importSession($bad));
            self::assertInstanceOf(SessionException::class, $e, $bad);
            self::assertSame($held, $client->exportSession(), "a refused import ($bad) keeps the held token");
        }
        $future = json_encode(['token' => ['access_token' => 'a'], 'created_at' => time() + 3600, 'expires_in' => 1200]);
        self::assertInstanceOf(SessionException::class, self::thrown(static fn () => $client->importSession((string) $future)));
    }

    /**
     * @dataProvider badConstructorArguments
     *
     * @param array<mixed> $options
     */
    public function testBadArgumentsAreInvalidArgumentException(string $url, string $id, string $secret, array $options, string $inMessage): void
    {
        $url = str_replace('{url}', self::server()->url(), $url);
        $e = self::thrown(static fn () => new TokenClient($url, $id, $secret, $options + ['library' => (string) getenv('FLEXITI_AUTH_LIB')]));
        self::assertInstanceOf(InvalidArgumentException::class, $e);
        self::assertSame(FlexitiException::FLX_ERR_INVALID_ARGUMENT, $e->getCode());
        self::assertStringContainsString($inMessage, $e->getMessage());
        self::assertStringNotContainsString('s3cr3t', $e->getMessage());
        self::assertSame([], self::server()->requests());
    }

    /** @return array<string, array{string, string, string, array<mixed>, string}> */
    public static function badConstructorArguments(): array
    {
        return [
            'empty url' => ['', 'id', 's3cr3t', [], 'api_url'],
            'not a url' => ['not a url', 'id', 's3cr3t', [], 'api_url'],
            'plain http off loopback' => ['http://example.com/', 'id', 's3cr3t', [], 'http'],
            'empty client id' => ['{url}', '', 's3cr3t', [], 'client_id'],
            'empty secret' => ['{url}', 'id', '', [], 'client_secret'],
            'NUL in the secret' => ['{url}', 'id', "s3cr3t\0tail", [], 'client_secret holds a NUL byte'],
            'NUL in the url' => ["{url}\0x", 'id', 's3cr3t', [], 'api_url holds a NUL byte'],
            'invalid UTF-8' => ['{url}', "id\xff", 's3cr3t', [], 'client_id'],
            'unknown option' => ['{url}', 'id', 's3cr3t', ['no_such_option' => '1'], 'no_such_option'],
            'out of range' => ['{url}', 'id', 's3cr3t', ['max_retries' => 99], 'max_retries'],
            'not a number' => ['{url}', 'id', 's3cr3t', ['timeout_ms' => 'soon'], 'timeout_ms'],
            'bool for a number' => ['{url}', 'id', 's3cr3t', ['max_retries' => true], 'max_retries'],
            'float value' => ['{url}', 'id', 's3cr3t', ['timeout_ms' => 1.5], 'timeout_ms must be a string, int or bool'],
            'null value' => ['{url}', 'id', 's3cr3t', ['scope' => null], 'scope must be a string, int or bool'],
            'array value' => ['{url}', 'id', 's3cr3t', ['scope' => ['merchant']], 'scope must be a string, int or bool'],
            'int option name' => ['{url}', 'id', 's3cr3t', [0 => 'x'], 'option names must be strings'],
            'library not a string' => ['{url}', 'id', 's3cr3t', ['header' => 5], 'option header must be a path string'],
        ];
    }

    public function testSetOptionRefusesBadValuesAndKeepsThePreviousOne(): void
    {
        $client = $this->client(['user_agent' => 'kept/1']);
        self::assertInstanceOf(InvalidArgumentException::class, self::thrown(static fn () => $client->setOption('expiration_threshold_secs', -1)));
        self::assertInstanceOf(InvalidArgumentException::class, self::thrown(static fn () => $client->setOption('bogus', 'x')));
        self::assertInstanceOf(InvalidArgumentException::class, self::thrown(static fn () => $client->setOption('library', '/tmp/x.so')));
        self::assertInstanceOf(InvalidArgumentException::class, self::thrown(static fn () => $client->setOption('user_agent', "a\0b")));
        $client->getToken();
        self::assertSame('kept/1', self::server()->requests()[0]['headers']['user-agent']);
    }

    /** token_store: a directory open to others is a StoreException (code 8) naming it; the store then shares the token. */
    public function testABroadTokenStoreDirectoryIsAStoreException(): void
    {
        $dir = sys_get_temp_dir() . '/flx-php-store-' . getmypid() . '-' . bin2hex(random_bytes(4));
        mkdir($dir, 0700);
        chmod($dir, 0755);
        try {
            $e = self::thrown(fn () => $this->client(['token_store' => $dir]));
            self::assertInstanceOf(StoreException::class, $e);
            self::assertSame(FlexitiException::FLX_ERR_STORE, $e->getCode());
            self::assertSame('FLX_ERR_STORE', $e->getStatusName());
            self::assertStringContainsString($dir, $e->getMessage());
            self::assertStringContainsString('0755', $e->getMessage());
            $client = $this->client(['user_agent' => 'kept/1']);
            self::assertInstanceOf(InvalidArgumentException::class, self::thrown(static fn () => $client->setOption('token_store', 'relative/dir')));
            chmod($dir, 0700);
            $a = $this->client(['token_store' => "file:$dir"]);
            $b = $this->client(['token_store' => $dir, 'refresh_min_age_secs' => 60]);
            $token = $a->getAccessToken();
            self::assertSame($token, $b->getAccessToken(true));
            self::assertSame($token, $b->getAccessToken(false), 'younger than refresh_min_age_secs: returned as is');
            self::assertCount(1, self::server()->requests());
            self::assertSame(0, $b->stats()['store_errors']);
        } finally {
            chmod($dir, 0700);
            exec('rm -rf ' . escapeshellarg($dir));
        }
    }

    /** With arguments in stack traces (zend.exception_ignore_args=0), the secret and the session JSON stay out. */
    public function testStackTracesLeaveOutTheSecretAndTheSession(): void
    {
        if (PHP_VERSION_ID < 80200) {
            self::markTestSkipped('#[\SensitiveParameter] takes effect from PHP 8.2');
        }
        $code = sprintf(
            'require %s; $lib = %s; $t = [];'
            . 'try { new Flexiti\Auth\TokenClient(%s, "visible-client-id", "hidden-secret-1", ["library" => $lib, "bogus" => 1]); } catch (Throwable $e) { $t[] = $e->getTraceAsString(); }'
            . '$c = new Flexiti\Auth\TokenClient(%s, "visible-client-id", "hidden-secret-1", ["library" => $lib]);'
            . 'try { $c->importSession("{\"token\":{\"refresh_token\":\"hidden-refresh\"}}"); } catch (Throwable $e) { $t[] = $e->getTraceAsString(); }'
            . 'echo implode("\n", $t);',
            var_export(dirname(__DIR__) . '/autoload.php', true),
            var_export((string) getenv('FLEXITI_AUTH_LIB'), true),
            var_export(self::server()->url(), true),
            var_export(self::server()->url(), true)
        );
        $out = (string) shell_exec(escapeshellarg(PHP_BINARY) . ' -d zend.exception_ignore_args=0 -d zend.exception_string_param_max_len=1000000 -r ' . escapeshellarg($code) . ' 2>&1');
        self::assertStringContainsString("'visible-client-id'", $out, "arguments are in the trace: $out");
        self::assertStringContainsString('Object(SensitiveParameterValue)', $out);
        self::assertStringNotContainsString('hidden-secret', $out);
        self::assertStringNotContainsString('hidden-refresh', $out);
        self::assertStringNotContainsString('{"token', $out);
    }

    public function testEveryStatusCodeHasItsOwnExceptionClass(): void
    {
        $expected = [
            1 => InvalidArgumentException::class,
            2 => NetworkException::class,
            3 => HttpStatusException::class,
            4 => AuthRejectedException::class,
            5 => BadResponseException::class,
            6 => SessionException::class,
            7 => InternalException::class,
            8 => StoreException::class,
        ];
        foreach ($expected as $code => $class) {
            $e = FlexitiException::fromStatus($code, "message $code");
            self::assertSame($class, get_class($e));
            self::assertSame($code, $e->getCode());
            self::assertSame("message $code", $e->getMessage());
        }
        $unknown = FlexitiException::fromStatus(42, 'odd');
        self::assertInstanceOf(InternalException::class, $unknown);
        self::assertSame(42, $unknown->getCode());
        self::assertSame('FLX_UNKNOWN', $unknown->getStatusName());
        self::assertStringContainsString('odd', $unknown->getMessage());
    }

    public function testNoCDataReachesTheCaller(): void
    {
        $client = $this->client();
        $token = $client->getToken();
        array_walk_recursive($token, static function ($v): void {
            self::assertNotInstanceOf(\FFI\CData::class, $v);
        });
        self::assertIsString($client->getAccessToken(true));
        self::assertIsString($client->exportSession());
        $dump = print_r($client, true);
        self::assertStringNotContainsString('CData', $dump);
        self::assertStringNotContainsString(TokenServer::CLIENT_SECRET, $dump);
        self::assertStringNotContainsString($token['access_token'], $dump);
    }

    public function testClientsCannotBeClonedOrSerialised(): void
    {
        $client = $this->client();
        self::assertInstanceOf(\Error::class, self::thrown(static fn () => clone $client));
        self::assertInstanceOf(\LogicException::class, self::thrown(static fn () => serialize($client)));
        $client->getToken(); // the original still works after the refused clone
        self::assertSame(['client_credentials'], self::server()->grantTypes());
    }

    /** Every returned char* is freed: many large strings must not grow the process. */
    public function testReturnedStringsAreFreed(): void
    {
        self::server()->config(['token_bytes' => 16384]);
        $client = $this->client();
        $client->getToken();
        $size = strlen($client->exportSession());
        self::assertGreaterThan(16000, $size, 'the server made large tokens');

        $rss = static fn (): int => (int) explode(' ', (string) file_get_contents('/proc/self/statm'))[1] * 4096;
        for ($i = 0; $i < 200; ++$i) { // warm up the allocator
            $client->exportSession();
        }
        $before = $rss();
        for ($i = 0; $i < 1000; ++$i) { // ~50 MB if the strings leaked
            $client->exportSession();
            $client->getAccessToken(true);
            $client->getToken(true);
        }
        $grown = $rss() - $before;
        self::assertLessThan(16 * 1024 * 1024, $grown, "RSS grew by $grown bytes");
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

    /** @param class-string<\Throwable> $class */
    private static function assertThrows(string $class, callable $f, string $message = ''): void
    {
        self::assertInstanceOf($class, self::thrown($f), $message);
    }
}
