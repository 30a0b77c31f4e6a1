<?php

declare(strict_types=1);

namespace Flexiti\Auth\Tests\Support;

/**
 * A PSR-3 logger in all but name (psr/log is not installed here): log($level, $message,
 * $context) with Psr\Log\LogLevel's level strings. It keeps every record it is given.
 */
final class RecordingLogger
{
    /** @var list<array{level: string, message: string, context: array<string, mixed>}> */
    public array $records = [];

    private int $taken = 0;

    /**
     * @param mixed $level
     * @param string|\Stringable $message
     * @param array<string, mixed> $context
     */
    public function log($level, $message, array $context = []): void
    {
        $this->records[] = ['level' => (string) $level, 'message' => (string) $message, 'context' => $context];
    }

    /** @return list<array{level: string, message: string, context: array<string, mixed>}> the records given since the last take() (all of them stay in \$records) */
    public function take(): array
    {
        $records = array_slice($this->records, $this->taken);
        $this->taken = count($this->records);

        return $records;
    }
}
