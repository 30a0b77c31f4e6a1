<?php

declare(strict_types=1);

namespace Flexiti\Auth\Tests;

use Flexiti\Auth\Exception\AuthRejectedException;
use Flexiti\Auth\Exception\FlexitiException;
use Flexiti\Auth\Exception\HttpStatusException;
use Flexiti\Auth\Exception\InvalidArgumentException;
use Flexiti\Auth\Exception\SessionException;
use Flexiti\Auth\SessionAdapter;
use Flexiti\Auth\Tests\Support\MagentoLikeSession;
use Flexiti\Auth\Tests\Support\RecordingLogger;
use Flexiti\Auth\Tests\Support\TokenServer;
use Flexiti\Auth\Tests\Support\TokenServerTestCase;

/**
 * The "logger" option (a PSR-3 logger) and drainLogs(): the library's lines reach PHP through a
 * private log file, read after every call, as PSR-3 records; never a secret.
 */
final class LoggingTest extends TokenServerTestCase
{
    private const TIME = '/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/';

    private ?string $flxLog = null;

    protected function setUp(): void
    {
        parent::setUp();
        // FLX_LOG would change the default level (and copy lines to stderr).
        $value = getenv('FLX_LOG');
        $this->flxLog = is_string($value) ? $value : null;
        putenv('FLX_LOG');
    }

    protected function tearDown(): void
    {
        if ($this->flxLog !== null) {
            putenv('FLX_LOG=' . $this->flxLog);
        }
    }

    public function testEachCallForwardsItsOwnLinesWithTheDecisionTaken(): void
    {
        $logger = new RecordingLogger();
        $client = $this->client(['logger' => $logger, 'log_level' => 'debug']);
        $endpoint = self::server()->url() . 'flexiti/online-api/oauth/token';
        $before = gmdate('Y-m-d\TH:i:s\Z');

        $first = $client->getToken();
        $new = $logger->take();
        self::assertSame(['debug', 'info'], self::levels($new));
        self::assertMatchesRegularExpression('#^POST ' . preg_quote($endpoint, '#') . ' grant_type=client_credentials attempt 1/1: HTTP 200 in \d+ ms$#', $new[0]['message']);
        self::assertMatchesRegularExpression('#^decision=new access_token \S+ expires_in 1200 s$#u', $new[1]['message']);

        $client->getToken(true);
        $cached = $logger->take();
        self::assertSame(['debug'], self::levels($cached), 'a cache hit: one line, and the earlier lines are not sent again');
        self::assertStringStartsWith('decision=cached ', $cached[0]['message']);

        $second = $client->getToken();
        $refreshed = $logger->take();
        self::assertSame(['debug', 'info'], self::levels($refreshed));
        self::assertMatchesRegularExpression('#^POST ' . preg_quote($endpoint, '#') . ' grant_type=refresh_token attempt 1/1: HTTP 200 in \d+ ms$#', $refreshed[0]['message']);
        self::assertStringStartsWith('decision=refreshed ', $refreshed[1]['message']);

        self::assertSame(['client_credentials', 'refresh_token'], self::server()->grantTypes(), 'the lines tell what went on the wire');
        self::assertNotSame($first['access_token'], $second['access_token']);
        foreach ($logger->records as $record) {
            self::assertSame(['library', 'time'], array_keys($record['context']));
            self::assertSame('flexiti-auth', $record['context']['library']);
            self::assertMatchesRegularExpression(self::TIME, $record['context']['time']);
            self::assertGreaterThanOrEqual($before, $record['context']['time']);
            self::assertLessThanOrEqual(gmdate('Y-m-d\TH:i:s\Z'), $record['context']['time']);
            self::assertStringNotContainsString('flexiti-auth:', $record['message'], 'the message is the part after the prefix');
        }
        self::assertSame([], $client->drainLogs(), 'everything was forwarded already');
    }

    public function testALoggerWithoutALevelGetsInfoAndAbove(): void
    {
        $logger = new RecordingLogger();
        $client = $this->client(['logger' => $logger]);
        $client->getToken();
        $client->getToken(true);
        $client->getToken();

        self::assertSame(['info', 'info'], self::levels($logger->records));
        self::assertStringStartsWith('decision=new ', $logger->records[0]['message']);
        self::assertStringStartsWith('decision=refreshed ', $logger->records[1]['message']);

        $logger->take();
        $client->setOption('log_level', 'debug');
        $client->getToken(true);
        self::assertSame(['debug'], self::levels($logger->take()), 'log_level can be changed later');
    }

    public function testAFailureReachesTheLoggerAsAnErrorBeforeTheExceptionReachesTheCaller(): void
    {
        $logger = new RecordingLogger();
        $wrongSecret = 'wrong-secret-' . bin2hex(random_bytes(8));
        $client = $this->client(['logger' => $logger, 'log_level' => 'debug'], $wrongSecret);

        $recordsWhenThrown = null;
        try {
            $client->getToken();
            self::fail('a wrong secret is rejected');
        } catch (AuthRejectedException $e) {
            $recordsWhenThrown = $logger->records;
        }

        self::assertSame(['debug', 'error'], self::levels($recordsWhenThrown));
        self::assertStringContainsString('grant_type=client_credentials', $recordsWhenThrown[0]['message']);
        self::assertSame('token request failed: FLX_ERR_AUTH_REJECTED: ' . $e->getMessage(), $recordsWhenThrown[1]['message']);
        self::assertStringContainsString('invalid_client', $e->getMessage());
        foreach ($recordsWhenThrown as $record) {
            self::assertStringNotContainsString($wrongSecret, $record['message'] . json_encode($record['context']));
        }

        // A server error, retried: a debug line per attempt, a warning for the retry, one error.
        self::server()->reset();
        $retrying = new RecordingLogger();
        $client = $this->client(['logger' => $retrying, 'log_level' => 'debug', 'max_retries' => 1]);
        self::server()->faults([['status' => 503, 'body' => 'down for maintenance', 'count' => 2]]);
        $thrown = self::thrown(static fn () => $client->getAccessToken());
        self::assertInstanceOf(HttpStatusException::class, $thrown);
        self::assertSame(['client_credentials', 'client_credentials'], self::server()->grantTypes());
        self::assertSame(['debug', 'warning', 'debug', 'error'], self::levels($retrying->records));
        self::assertStringContainsString('retry 1', $retrying->records[1]['message']);
        $attempts = array_values(array_filter($retrying->records, static fn (array $r): bool => strpos($r['message'], 'grant_type=client_credentials attempt ') !== false));
        self::assertCount(2, $attempts);
        self::assertStringContainsString('attempt 1/2', $attempts[0]['message']);
        self::assertStringContainsString('attempt 2/2', $attempts[1]['message']);
        $errors = array_values(array_filter($retrying->records, static fn (array $r): bool => $r['level'] === 'error'));
        self::assertCount(1, $errors);
        self::assertStringContainsString('FLX_ERR_HTTP_STATUS', $errors[0]['message']);
        self::assertSame('error', end($retrying->records)['level'], 'the error is the last line of the call');
    }

    public function testNoRecordHoldsTheSecretOrAnyTokenTheServerIssued(): void
    {
        $logger = new RecordingLogger();
        $client = $this->client(['logger' => $logger, 'log_level' => 'debug']);

        $client->getToken();                    // new
        $client->getToken(true);                // cached
        $held = $client->getToken();            // refreshed
        self::server()->expire();               // the refresh token is now refused: fallback
        $client->getToken();
        $session = $client->exportSession();
        $other = $this->client(['logger' => $logger, 'log_level' => 'debug']);
        $other->importSession($session);
        $other->getToken();
        // Failures whose answers carry a token the client holds and the secret it sent.
        $current = $other->getToken(true);
        $echo = $current['access_token'] . ' ' . $current['refresh_token'] . ' ' . TokenServer::CLIENT_SECRET;
        self::server()->faults([
            ['status' => 400, 'count' => 2, 'body' => (string) json_encode(['error' => 'invalid_request ' . $echo, 'error_description' => 'you sent ' . $echo])],
            ['status' => 500, 'body' => 'upstream said ' . $echo],
            ['status' => 200, 'body' => '{"token_type":"bearer","refresh_token":"' . $current['refresh_token'] . '","note":"' . TokenServer::CLIENT_SECRET . '"}'],
        ]);
        self::assertInstanceOf(FlexitiException::class, self::thrown(static fn () => $other->getToken()));
        self::assertInstanceOf(HttpStatusException::class, self::thrown(static fn () => $other->getToken()));
        self::assertInstanceOf(FlexitiException::class, self::thrown(static fn () => $other->getToken()));
        self::assertInstanceOf(SessionException::class, self::thrown(static fn () => $other->importSession('{"token":')));
        $other->stats();

        $issued = self::server()->issued();
        $secrets = array_merge([TokenServer::CLIENT_SECRET], $issued['access_tokens'], $issued['refresh_tokens']);
        self::assertCount(4, $issued['access_tokens'], 'new, refreshed, fallback, refreshed');
        self::assertContains($held['access_token'], $issued['access_tokens']);
        self::assertGreaterThanOrEqual(12, count($logger->records));
        self::assertContains('fallback', array_map(static fn (array $r): string => preg_match('/decision=(\w+)/', $r['message'], $m) === 1 ? $m[1] : '', $logger->records));
        self::assertContains('error', self::levels($logger->records));
        $echoed = array_filter($logger->records, static fn (array $r): bool => strpos($r['message'], 'you sent ') !== false);
        self::assertNotEmpty($echoed, 'the answer that echoed the secrets was logged (without them)');
        foreach ($logger->records as $record) {
            $text = $record['message'] . ' ' . json_encode($record['context']);
            foreach ($secrets as $secret) {
                self::assertStringNotContainsString($secret, $text);
            }
        }
    }

    public function testLogLevelOffForwardsNothing(): void
    {
        $logger = new RecordingLogger();
        $client = $this->client(['logger' => $logger, 'log_level' => 'off']);
        $client->getToken();
        $client->getToken(true);
        $client->getToken();
        self::server()->faults([['status' => 503]]);
        self::assertInstanceOf(HttpStatusException::class, self::thrown(static fn () => $client->getToken()));

        self::assertSame(['client_credentials', 'refresh_token', 'refresh_token'], self::server()->grantTypes());
        self::assertSame([], $logger->records);
        self::assertSame([], $client->drainLogs());
    }

    public function testDrainLogsReturnsOnlyTheLinesAppendedSinceTheLastDrain(): void
    {
        $client = $this->client(['log_drain' => true, 'log_level' => 'debug']);
        self::assertSame([], $client->drainLogs());
        $client->getToken();
        $client->getToken(true);

        $lines = $client->drainLogs();
        self::assertSame(['debug', 'info', 'debug'], self::levels($lines));
        self::assertStringStartsWith('decision=new ', $lines[1]['message']);
        self::assertStringStartsWith('decision=cached ', $lines[2]['message']);
        foreach ($lines as $line) {
            self::assertSame(['time', 'level', 'message', 'line'], array_keys($line));
            self::assertMatchesRegularExpression(self::TIME, $line['time']);
            self::assertSame($line['time'] . ' ' . strtoupper($line['level']) . ' flexiti-auth: ' . $line['message'], $line['line']);
        }
        self::assertSame([], $client->drainLogs(), 'nothing new');

        $client->getToken();
        $refreshed = $client->drainLogs();
        self::assertSame(['debug', 'info'], self::levels($refreshed));
        self::assertStringStartsWith('decision=refreshed ', $refreshed[1]['message']);

        $plain = $this->client(['log_level' => 'debug']);
        $plain->getToken();
        self::assertSame([], $plain->drainLogs(), 'without logger or log_drain nothing is kept');
    }

    public function testSessionAdapterCallsReachTheLogger(): void
    {
        $logger = new RecordingLogger();
        $session = new MagentoLikeSession();
        $tokens = new SessionAdapter($this->client(['logger' => $logger]), $session);
        $tokens->getToken();
        self::assertSame(['decision=new'], self::decisions($logger->take()));
        $tokens->getToken();
        self::assertSame(['decision=refreshed'], self::decisions($logger->take()));

        // The next request: another client, the same session.
        $next = new SessionAdapter($this->client(['logger' => $logger, 'log_level' => 'debug']), $session);
        $next->getAccessToken(true);
        self::assertSame(['decision=cached'], self::decisions($logger->take()));

        self::server()->faults([['status' => 400, 'body' => '{"error":"invalid_client"}', 'count' => 2]]); // the refresh, then the fallback
        self::assertInstanceOf(AuthRejectedException::class, self::thrown(static fn () => $next->getToken()));
        self::assertContains('error', self::levels($logger->take()));
    }

    public function testTheLogFileIsPrivateUniquePerClientAndRemovedWithTheClient(): void
    {
        $base = sys_get_temp_dir() . '/flexiti-logging-' . getmypid() . '-' . bin2hex(random_bytes(4));
        mkdir("$base/tmp", 0700, true);
        $script = <<<'PHP'
            <?php
            require $argv[1];
            $logger = new class {
                public array $lines = [];
                public function log($level, $message, array $context = []): void { $this->lines[] = "$level $message"; }
            };
            $new = fn () => new Flexiti\Auth\TokenClient($argv[2], 'flexiti-test-client', 'flexiti-test-secret',
                ['library' => getenv('FLEXITI_AUTH_LIB'), 'logger' => $logger, 'log_level' => 'debug']);
            $files = fn () => glob(sys_get_temp_dir() . '/*') ?: [];
            $a = $new();
            $b = $new();
            $a->getToken();
            $report = ['two' => $files()];
            $report['modes'] = array_map(fn ($f) => decoct(fileperms($f) & 0777), $report['two']);
            $report['contents'] = array_map(fn ($f) => file_get_contents($f), $report['two']);
            $report['forwarded'] = $logger->lines;
            unset($a);
            $report['one'] = $files();
            $c = new Flexiti\Auth\TokenClient($argv[2], 'flexiti-test-client', 'flexiti-test-secret',
                ['library' => getenv('FLEXITI_AUTH_LIB'), 'log_drain' => true]);
            $report['again'] = $files();
            echo json_encode($report), "\n";
            // $b and $c are left for the end of the script.
            PHP;
        file_put_contents("$base/script.php", $script);
        try {
            $process = proc_open(
                [PHP_BINARY, '-d', "sys_temp_dir=$base/tmp", "$base/script.php", dirname(__DIR__) . '/autoload.php', self::server()->url()],
                [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']],
                $pipes,
                null,
                ['FLEXITI_AUTH_LIB' => (string) getenv('FLEXITI_AUTH_LIB'), 'PATH' => (string) getenv('PATH')]
            );
            self::assertIsResource($process);
            $out = (string) stream_get_contents($pipes[1]);
            $err = (string) stream_get_contents($pipes[2]);
            fclose($pipes[1]);
            fclose($pipes[2]);
            $rc = proc_close($process);
            $left = glob("$base/tmp/*") ?: [];
        } finally {
            exec('rm -rf ' . escapeshellarg($base));
        }

        self::assertSame(0, $rc, "stdout: $out\nstderr: $err");
        self::assertSame('', $err);
        $report = json_decode($out, true, 512, JSON_THROW_ON_ERROR);
        self::assertCount(2, $report['two'], 'one file per client');
        foreach ($report['two'] as $file) {
            self::assertStringStartsWith("$base/tmp/flexiti-auth-log-", $file);
        }
        self::assertSame(['600', '600'], $report['modes']);
        $contents = array_combine($report['two'], $report['contents']);
        $empty = array_keys($contents, '', true);
        self::assertCount(1, $empty, 'the second client wrote nothing');
        $lines = explode("\n", rtrim(implode('', $contents), "\n"));
        self::assertCount(2, $lines, 'the first client\'s two lines, in its own file');
        $asForwarded = array_map(static fn (string $l): string => (string) preg_replace_callback(
            '/^\S+ (DEBUG|INFO) flexiti-auth: /',
            static fn (array $m): string => strtolower($m[1]) . ' ',
            $l
        ), $lines);
        self::assertSame($asForwarded, $report['forwarded'], 'the logger got what the library wrote');
        self::assertSame($empty, $report['one'], 'unset() removed the first client\'s file, the second\'s stays');
        self::assertCount(2, $report['again'], 'log_drain has a file of its own');
        self::assertSame([], $left, 'the clients left at the end of the script removed theirs');
    }

    public function testLoggerOptionsAreChecked(): void
    {
        foreach ([
            ['logger' => 'syslog'],
            ['logger' => new \stdClass()],
            ['logger' => new RecordingLogger(), 'log_file' => sys_get_temp_dir() . '/flexiti-not-created.log'],
            ['log_drain' => true, 'log_file' => sys_get_temp_dir() . '/flexiti-not-created.log'],
            ['log_drain' => 'yes'],
            ['logger' => new RecordingLogger(), 'log_level' => 'verbose'],
        ] as $i => $options) {
            $e = self::thrown(fn () => $this->client($options));
            self::assertInstanceOf(InvalidArgumentException::class, $e, "options #$i");
        }
        self::assertFileDoesNotExist(sys_get_temp_dir() . '/flexiti-not-created.log');

        $client = $this->client(['logger' => new RecordingLogger()]);
        self::assertInstanceOf(InvalidArgumentException::class, self::thrown(static fn () => $client->setOption('log_file', sys_get_temp_dir() . '/flexiti-not-created.log')));
        self::assertInstanceOf(InvalidArgumentException::class, self::thrown(static fn () => $client->setOption('logger', 'x')));
        self::assertInstanceOf(InvalidArgumentException::class, self::thrown(static fn () => $client->setOption('log_drain', true)));
        self::assertFileDoesNotExist(sys_get_temp_dir() . '/flexiti-not-created.log');
    }

    /**
     * @param list<array{level: string}> $records
     *
     * @return list<string>
     */
    private static function levels(array $records): array
    {
        return array_map(static fn (array $r): string => $r['level'], $records);
    }

    /**
     * @param list<array{message: string}> $records
     *
     * @return list<string>
     */
    private static function decisions(array $records): array
    {
        $decisions = [];
        foreach ($records as $r) {
            if (preg_match('/^(decision=\w+)/', $r['message'], $m) === 1) {
                $decisions[] = $m[1];
            }
        }

        return $decisions;
    }

    private static function thrown(callable $f): ?\Throwable
    {
        try {
            $f();
        } catch (\Throwable $e) {
            return $e;
        }

        return null;
    }
}
