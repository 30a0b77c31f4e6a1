<?php

declare(strict_types=1);

namespace Flexiti\Auth\Exception;

/**
 * The token_store option names a store that cannot be used: a directory that is not this user's
 * alone (0700), not a directory, or one that cannot be created. At run time a store that cannot
 * be read or written costs no call its token; it is counted in stats()['store_errors'] instead,
 * unless token_store_required is set (a Redis store that is unreachable or refuses the
 * credentials then fails the call).
 * getCode() is FlexitiException::FLX_ERR_STORE.
 */
class StoreException extends FlexitiException
{
}
