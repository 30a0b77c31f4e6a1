<?php

declare(strict_types=1);

namespace Flexiti\Auth\Tests\Support;

/**
 * The accessor behaviour of Magento\Framework\DataObject / SessionManager: getFooBar() and
 * setFooBar($v) through __call, stored under "foo_bar".
 */
final class MagentoLikeSession
{
    /** @var array<string, mixed> */
    public array $data = [];

    /**
     * @param array<int, mixed> $args
     *
     * @return mixed
     */
    public function __call(string $method, array $args)
    {
        $key = strtolower((string) preg_replace('/(.)([A-Z])/', '$1_$2', substr($method, 3)));
        switch (substr($method, 0, 3)) {
            case 'get':
                return $this->data[$key] ?? null;
            case 'set':
                $this->data[$key] = $args[0] ?? null;

                return $this;
            case 'uns':
                unset($this->data[$key]);

                return $this;
        }
        throw new \BadMethodCallException("Invalid method $method");
    }
}
