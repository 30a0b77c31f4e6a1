<?php

declare(strict_types=1);

namespace Flexiti\Auth\Exception;

/**
 * Base of every exception the binding throws.
 *
 * getCode() is the library's status code (FLX_ERR_*), getMessage() the library's message
 * (never containing the client secret or a token). getStatusName() gives the code's name.
 * Catch this class to handle every failure of the binding at once.
 */
class FlexitiException extends \RuntimeException
{
    public const FLX_OK = 0;
    public const FLX_ERR_INVALID_ARGUMENT = 1;
    public const FLX_ERR_NETWORK = 2;
    public const FLX_ERR_HTTP_STATUS = 3;
    public const FLX_ERR_AUTH_REJECTED = 4;
    public const FLX_ERR_BAD_RESPONSE = 5;
    public const FLX_ERR_SESSION = 6;
    public const FLX_ERR_INTERNAL = 7;
    public const FLX_ERR_STORE = 8;

    /** Status code => [exception class, status name]. */
    private const STATUS_CLASSES = [
        self::FLX_ERR_INVALID_ARGUMENT => [InvalidArgumentException::class, 'FLX_ERR_INVALID_ARGUMENT'],
        self::FLX_ERR_NETWORK => [NetworkException::class, 'FLX_ERR_NETWORK'],
        self::FLX_ERR_HTTP_STATUS => [HttpStatusException::class, 'FLX_ERR_HTTP_STATUS'],
        self::FLX_ERR_AUTH_REJECTED => [AuthRejectedException::class, 'FLX_ERR_AUTH_REJECTED'],
        self::FLX_ERR_BAD_RESPONSE => [BadResponseException::class, 'FLX_ERR_BAD_RESPONSE'],
        self::FLX_ERR_SESSION => [SessionException::class, 'FLX_ERR_SESSION'],
        self::FLX_ERR_INTERNAL => [InternalException::class, 'FLX_ERR_INTERNAL'],
        self::FLX_ERR_STORE => [StoreException::class, 'FLX_ERR_STORE'],
    ];

    /**
     * The exception for a library status code: InvalidArgumentException for 1, NetworkException
     * for 2, … InternalException for 7, StoreException for 8; InternalException for any code the binding does not know.
     */
    public static function fromStatus(int $code, string $message, ?\Throwable $previous = null): self
    {
        $class = self::STATUS_CLASSES[$code][0] ?? InternalException::class;
        if (!isset(self::STATUS_CLASSES[$code])) {
            $message = sprintf('unexpected status %d from the library: %s', $code, $message);
        }

        return new $class($message, $code, $previous);
    }

    /** The status code's name, e.g. "FLX_ERR_NETWORK" ("FLX_UNKNOWN" for a code not in the ABI). */
    public function getStatusName(): string
    {
        return self::STATUS_CLASSES[$this->getCode()][1] ?? ($this->getCode() === 0 ? 'FLX_OK' : 'FLX_UNKNOWN');
    }
}
