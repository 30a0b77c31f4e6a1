<?php

declare(strict_types=1);

namespace Flexiti\Auth\Tests\Support;

/** The get/set shape of Symfony's SessionInterface. */
final class SymfonyLikeSession
{
    /** @var array<string, mixed> */
    public array $attributes = [];

    /**
     * @param mixed $default
     *
     * @return mixed
     */
    public function get(string $name, $default = null)
    {
        return $this->attributes[$name] ?? $default;
    }

    /** @param mixed $value */
    public function set(string $name, $value): void
    {
        $this->attributes[$name] = $value;
    }
}
