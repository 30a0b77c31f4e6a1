<?php

declare(strict_types=1);

namespace Flexiti\Auth\Exception;

/**
 * The token endpoint could not be reached: DNS, connect, TLS, timeout, connection reset.
 * getCode() is FlexitiException::FLX_ERR_NETWORK.
 */
class NetworkException extends FlexitiException
{
}
