<?php

declare(strict_types=1);

namespace Flexiti\Auth\Exception;

/**
 * The token endpoint refused the credentials (invalid_client, unauthorized_client, invalid_grant,
 * invalid_role).
 * getCode() is FlexitiException::FLX_ERR_AUTH_REJECTED.
 */
class AuthRejectedException extends FlexitiException
{
}
