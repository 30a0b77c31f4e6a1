<?php

declare(strict_types=1);

namespace Flexiti\Auth\Exception;

/**
 * A 2xx answer that is not a usable token: not JSON, no access_token, wrong field types, too big.
 * getCode() is FlexitiException::FLX_ERR_BAD_RESPONSE.
 */
class BadResponseException extends FlexitiException
{
}
