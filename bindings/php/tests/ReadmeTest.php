<?php

declare(strict_types=1);

namespace Flexiti\Auth\Tests;

use Flexiti\Auth\Tests\Support\TokenServer;
use PHPUnit\Framework\TestCase;

/** The README's example works as written: its shell command, its PHP file, its printed output. */
final class ReadmeTest extends TestCase
{
    public function testTheExampleRunsAsWrittenAndPrintsWhatTheReadmeSays(): void
    {
        $readme = (string) file_get_contents(dirname(__DIR__) . '/README.md');
        $example = substr($readme, (int) strpos($readme, '## Example'));
        self::assertSame(1, preg_match('/```sh\n(.*?)\n```/s', $example, $command));
        self::assertSame(1, preg_match('/```php\n(<\?php\n.*?)```/s', $example, $php));
        self::assertSame(1, preg_match('/```text\n(.*?)```/s', $example, $printed));
        self::assertStringContainsString('example.php', $command[1]);

        // A directory laid out like the repository root, holding example.php.
        $repo = dirname(__DIR__, 3);
        $root = sys_get_temp_dir() . '/flexiti-readme-' . getmypid() . '-' . bin2hex(random_bytes(4));
        mkdir("$root/target/debug", 0700, true);
        mkdir("$root/bindings", 0700, true);
        mkdir("$root/tests", 0700, true);
        symlink((string) getenv('FLEXITI_AUTH_LIB'), "$root/target/debug/libflexiti_auth.so");
        symlink("$repo/bindings/php", "$root/bindings/php");
        symlink("$repo/tests/support", "$root/tests/support");
        file_put_contents("$root/example.php", $php[1]);

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
        $lines = explode("\n", $out, 2);
        self::assertMatchesRegularExpression('#^local token server: http://127\.0\.0\.1:\d+/$#', $lines[0]);
        self::assertSame($printed[1], $lines[1] ?? '');
        self::assertStringNotContainsString(TokenServer::CLIENT_SECRET, $out . $err);
    }
}
