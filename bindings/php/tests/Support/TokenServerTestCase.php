<?php

declare(strict_types=1);

namespace Flexiti\Auth\Tests\Support;

use Flexiti\Auth\TokenClient;
use PHPUnit\Framework\TestCase;

/** One token server per test class, reset before each test. */
abstract class TokenServerTestCase extends TestCase
{
    protected static ?TokenServer $server = null;

    public static function setUpBeforeClass(): void
    {
        static::$server = new TokenServer();
    }

    public static function tearDownAfterClass(): void
    {
        if (static::$server !== null) {
            static::$server->stop();
            static::$server = null;
        }
    }

    protected function setUp(): void
    {
        self::server()->reset();
    }

    protected static function server(): TokenServer
    {
        if (static::$server === null) {
            throw new \LogicException('no token server');
        }

        return static::$server;
    }

    /** @param array<string, string|int|bool> $options */
    protected function client(array $options = [], ?string $secret = null): TokenClient
    {
        return new TokenClient(
            self::server()->url(),
            TokenServer::CLIENT_ID,
            $secret ?? TokenServer::CLIENT_SECRET,
            $options + ['library' => (string) getenv('FLEXITI_AUTH_LIB'), 'max_retries' => 0]
        );
    }
}
