<?php

declare(strict_types=1);

namespace Flexiti\Auth\Exception;

/**
 * The library or its PHP header could not be loaded (not a library status: getCode() is 0).
 * The message names every place that was tried, in order, and why each failed.
 */
class LibraryLoadException extends FlexitiException
{
    /** @var list<string> */
    private array $tried;

    /** @param list<string> $tried one "place: reason" line per attempt */
    public function __construct(string $message, array $tried = [], ?\Throwable $previous = null)
    {
        parent::__construct($message, 0, $previous);
        $this->tried = $tried;
    }

    /** @return list<string> one "place: reason" line per attempt, in the order tried */
    public function getTried(): array
    {
        return $this->tried;
    }

    public function getStatusName(): string
    {
        return 'LIBRARY_LOAD';
    }
}
