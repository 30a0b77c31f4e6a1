<?php

declare(strict_types=1);

namespace Flexiti\Auth\Exception;

/**
 * A bad argument: an empty or malformed URL, client id or secret, an unknown option or a bad option
 * value, a string holding a NUL byte, a non-loopback http:// URL.
 * getCode() is FlexitiException::FLX_ERR_INVALID_ARGUMENT.
 */
class InvalidArgumentException extends FlexitiException
{
}
