<?php

declare(strict_types=1);

namespace Flexiti\Auth\Exception;

/**
 * A bug inside the library (a caught panic) or a status code this binding does not know;
 * the held token is unchanged.
 * getCode() is FlexitiException::FLX_ERR_INTERNAL.
 */
class InternalException extends FlexitiException
{
}
