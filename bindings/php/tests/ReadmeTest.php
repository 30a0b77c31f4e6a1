<?php

declare(strict_types=1);

namespace Flexiti\Auth\Tests;

use Flexiti\Auth\Tests\Support\TokenServer;
use PHPUnit\Framework\TestCase;

/** The README's examples work as written: their shell command, their PHP file, their printed output. */
final class ReadmeTest extends TestCase
{
    public function testTheExampleRunsAsWrittenAndPrintsWhatTheReadmeSays(): void
    {
        [$printed, $out] = self::runExample('## Example');
        self::assertSame($printed, $out);
    }

    public function testTheLoggingExampleRunsAsWrittenAndPrintsWhatTheReadmeSays(): void
    {
        [$printed, $out] = self::runExample('## Logging');
        // Times, ports, milliseconds and token hints differ from run to run.
        $shape = static fn (string $text): string => (string) preg_replace(
            ['/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/', '#http://127\.0\.0\.1:\d+/#', '/ \d+ ms/', '/ \S{4}…/u'],
            ['TIME', 'http://127.0.0.1:PORT/', ' N ms', ' HINT…'],
            $text
        );
        self::assertSame($shape($printed), $shape($out));
        self::assertSame(4, substr_count($out, "\n"));
    }

    /**
     * Run the README section's example in a directory laid out like the repository root.
     *
     * @return array{0: string, 1: string} what the README says it prints, what it printed
     *                                     (after the "local token server" line)
     */
    private static function runExample(string $section): array
    {
        $readme = (string) file_get_contents(dirname(__DIR__) . '/README.md');
        $start = strpos($readme, "\n$section\n");
        self::assertIsInt($start, "README has a $section section");
        $text = substr($readme, $start + 1);
        $next = strpos($text, "\n## ");
        $text = $next === false ? $text : substr($text, 0, $next);
        self::assertSame(1, preg_match('/```sh\n(.*?)\n```/s', $text, $command));
        self::assertSame(1, preg_match('/```php\n(<\?php\n.*?)```/s', $text, $php));
        self::assertSame(1, preg_match('/```text\n(.*?)```/s', $text, $printed));
        self::assertSame(1, preg_match('/ php (\w+\.php)$/', $command[1], $file), 'the command runs a PHP file');

        $repo = dirname(__DIR__, 3);
        $root = sys_get_temp_dir() . '/flexiti-readme-' . getmypid() . '-' . bin2hex(random_bytes(4));
        mkdir("$root/target/debug", 0700, true);
        mkdir("$root/bindings", 0700, true);
        mkdir("$root/tests", 0700, true);
        symlink((string) getenv('FLEXITI_AUTH_LIB'), "$root/target/debug/libflexiti_auth.so");
        symlink("$repo/bindings/php", "$root/bindings/php");
        symlink("$repo/tests/support", "$root/tests/support");
        file_put_contents("$root/{$file[1]}", $php[1]);

        try {
            $env = [
                'PATH' => (string) getenv('PATH'),
                'HOME' => (string) getenv('HOME'),
                'FLX_TOKEN_SERVER' => (string) getenv('FLX_TOKEN_SERVER'),
            ];
            $process = proc_open(['bash', '-c', $command[1]], [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, $root, $env);
            self::assertIsResource($process);
            $out = (string) stream_get_contents($pipes[1]);
            $err = (string) stream_get_contents($pipes[2]);
            fclose($pipes[1]);
            fclose($pipes[2]);
            $rc = proc_close($process);
        } finally {
            exec('rm -rf ' . escapeshellarg($root));
        }

        self::assertSame(0, $rc, "stdout: $out\nstderr: $err");
        self::assertSame('', $err);
        $lines = explode("\n", $out, 2);
        self::assertMatchesRegularExpression('#^local token server: http://127\.0\.0\.1:\d+/$#', $lines[0]);
        self::assertStringNotContainsString(TokenServer::CLIENT_SECRET, $out . $err);

        return [$printed[1], $lines[1] ?? ''];
    }
}
