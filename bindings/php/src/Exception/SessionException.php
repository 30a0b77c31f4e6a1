<?php

declare(strict_types=1);

namespace Flexiti\Auth\Exception;

/**
 * Session export with no token held, or session JSON that cannot be imported.
 * getCode() is FlexitiException::FLX_ERR_SESSION.
 */
class SessionException extends FlexitiException
{
}
