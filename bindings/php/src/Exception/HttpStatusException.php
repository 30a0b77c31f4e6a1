<?php

declare(strict_types=1);

namespace Flexiti\Auth\Exception;

/**
 * The token endpoint answered with an error status (5xx, 408, 429, 3xx, other 4xx).
 * getCode() is FlexitiException::FLX_ERR_HTTP_STATUS.
 */
class HttpStatusException extends FlexitiException
{
}
