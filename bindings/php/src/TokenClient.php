<?php

declare(strict_types=1);

namespace Flexiti\Auth;

use Flexiti\Auth\Exception\FlexitiException;
use Flexiti\Auth\Exception\InvalidArgumentException;
use Flexiti\Auth\Exception\LibraryLoadException;

/**
 * Gets and keeps a valid Flexiti OAuth2 access token (the guide's getFlexitiToken), through
 * libflexiti_auth.
 *
 *     $client = new TokenClient('https://posapi.flexiti.fi/', $clientId, $clientSecret);
 *     $bearer = $client->getAccessToken();        // new, or refreshed when one is held
 *     $bearer = $client->getAccessToken(true);    // a still-valid held token, no request
 *
 * getToken(false) refreshes a still-valid token (grant_type=refresh_token) so an apply or
 * purchase flow starts with a full lifetime, falling back once to client_credentials when the
 * refresh is refused; with no token held, or an expired one, it asks for a new one
 * (client_credentials). getToken(true) returns a still-valid held token without a request.
 * A failure throws a FlexitiException subclass and leaves the held token unchanged.
 *
 * Options (name => string|int|bool, passed to the library by name): expiration_threshold_secs
 * (60), connect_timeout_ms (5000), timeout_ms (15000), max_retries (2), token_path
 * ("flexiti/online-api/oauth/token"), scope, proxy ("none": no proxy; "": from the environment),
 * ca_file, user_agent, log_level ("off", "error", "warn", "info", "debug"), log_file (a path: one
 * line per event, never a secret; PHP gets logs from a file, not a callback). Options of the
 * binding itself: "library" (path of libflexiti_auth.so) and
 * "header" (path of flexiti_auth_php.h); see Library for where they are looked for otherwise.
 *
 * One instance holds one token (one user session: see SessionAdapter). It cannot be cloned or
 * serialised; keep the session JSON (exportSession) instead. The secret and session JSON are
 * #[\SensitiveParameter]s: PHP 8.2+ leaves them out of stack traces.
 */
final class TokenClient
{
    /** Options consumed by the binding, not passed to the library. */
    private const BINDING_OPTIONS = ['library', 'header'];

    private \FFI $ffi;

    /** @var \FFI\CData|null the FlxClient*, freed by the destructor */
    private $handle = null;

    private string $apiUrl;

    private string $clientId;

    /**
     * @param string $apiUrl the API base, e.g. "https://posapi.flexiti.fi/" (http:// only for loopback)
     * @param array<string, string|int|bool> $options
     *
     * @throws InvalidArgumentException empty or malformed arguments, unknown option, bad value
     * @throws LibraryLoadException     the library cannot be found or loaded
     */
    public function __construct(string $apiUrl, string $clientId, #[\SensitiveParameter] string $clientSecret, array $options = [])
    {
        self::assertNoNul('api_url', $apiUrl);
        self::assertNoNul('client_id', $clientId);
        self::assertNoNul('client_secret', $clientSecret);
        $libraryOptions = [];
        foreach ($options as $name => $value) {
            if (!is_string($name)) {
                throw new InvalidArgumentException(
                    sprintf('option names must be strings, got %s key %s', get_debug_type($name), var_export($name, true)),
                    FlexitiException::FLX_ERR_INVALID_ARGUMENT
                );
            }
            if (in_array($name, self::BINDING_OPTIONS, true)) {
                if ($value !== null && !is_string($value)) {
                    throw new InvalidArgumentException(
                        sprintf('option %s must be a path string, got %s', $name, get_debug_type($value)),
                        FlexitiException::FLX_ERR_INVALID_ARGUMENT
                    );
                }
                continue;
            }
            $libraryOptions[$name] = self::optionString($name, $value);
        }

        [$this->ffi] = Library::load($options['library'] ?? null, $options['header'] ?? null);
        $handle = $this->ffi->flx_client_new($apiUrl, $clientId, $clientSecret);
        if ($handle === null) {
            throw $this->lastError();
        }
        try {
            foreach ($libraryOptions as $name => $value) {
                $this->set($handle, $name, $value);
            }
        } catch (\Throwable $e) {
            // A constructor that throws gets no destructor call.
            $this->ffi->flx_client_free($handle);
            throw $e;
        }
        $this->handle = $handle;
        $this->apiUrl = $apiUrl;
        $this->clientId = $clientId;
    }

    public function __destruct()
    {
        if ($this->handle !== null) {
            $handle = $this->handle;
            $this->handle = null;
            $this->ffi->flx_client_free($handle);
        }
    }

    /**
     * Set one library option by name (see the class comment). On error the option keeps its
     * previous value.
     *
     * @param string|int|bool $value ints as decimal, bools as "true"/"false"
     *
     * @throws InvalidArgumentException unknown name or bad value (the message names the option)
     */
    public function setOption(string $name, string|int|bool $value): void
    {
        if (in_array($name, self::BINDING_OPTIONS, true)) {
            throw new InvalidArgumentException(
                sprintf('option %s selects the library: pass it to the constructor', $name),
                FlexitiException::FLX_ERR_INVALID_ARGUMENT
            );
        }
        $this->set($this->handle(), $name, self::optionString($name, $value));
    }

    /**
     * A valid token: every field of the token response ("access_token", "token_type",
     * "expires_in", "refresh_token", ...) plus "created_at" (unix seconds of the request).
     *
     * @param bool $useCache true: a still-valid held token without a request (price calculator);
     *                       false: refresh (or get) a token so the flow starts with a full lifetime
     *
     * @return array<string, mixed>
     *
     * @throws FlexitiException NetworkException, HttpStatusException, AuthRejectedException,
     *                          BadResponseException; the held token is unchanged
     */
    public function getToken(bool $useCache = false): array
    {
        $json = $this->take($this->ffi->flx_get_token($this->handle(), $useCache));
        $token = json_decode($json, true);
        if (!is_array($token)) {
            throw FlexitiException::fromStatus(FlexitiException::FLX_ERR_INTERNAL, 'the library returned token JSON that PHP cannot decode: ' . json_last_error_msg());
        }

        return $token;
    }

    /**
     * Like getToken(), but only the access token, for an "Authorization: Bearer ..." header.
     *
     * @throws FlexitiException as getToken()
     */
    public function getAccessToken(bool $useCache = false): string
    {
        return $this->take($this->ffi->flx_get_access_token($this->handle(), $useCache));
    }

    /**
     * The held token as session JSON: {"token":{...},"created_at":N,"expires_in":N}. It holds
     * secrets (the refresh token): store it like a password, e.g. in the server-side session.
     *
     * @throws Exception\SessionException no token is held
     */
    public function exportSession(): string
    {
        return $this->take($this->ffi->flx_session_export($this->handle()));
    }

    /**
     * Replace the held token with the one in session JSON from exportSession() (its "token" may
     * also be the token JSON as a string, the way the guide stores FlxOauthToken).
     *
     * @throws Exception\SessionException malformed JSON, wrong shape, created in the future;
     *                                    the held token is unchanged
     * @throws InvalidArgumentException   the string holds a NUL byte or is not UTF-8
     */
    public function importSession(#[\SensitiveParameter] string $json): void
    {
        self::assertNoNul('session_json', $json);
        $this->check($this->ffi->flx_session_import($this->handle(), $json));
    }

    /**
     * Counters of this client, cheap enough for a health check: ["requests" =>
     * ["client_credentials" => N, "refresh_token" => N], "cache_hits", "new_tokens", "refreshes",
     * "fallbacks", "retries", "failures" => ["FLX_ERR_NETWORK" => N, ...], "last_error_time",
     * "last_error_code", "last_error_name", "token_held", "token_age_secs", "token_expires_in",
     * "token_time_left_secs", "token_valid_for_secs"]. No secrets.
     *
     * @return array<string, mixed>
     */
    public function stats(): array
    {
        $stats = json_decode($this->take($this->ffi->flx_client_stats($this->handle())), true);
        if (!is_array($stats)) {
            throw FlexitiException::fromStatus(FlexitiException::FLX_ERR_INTERNAL, 'the library returned stats JSON that PHP cannot decode');
        }

        return $stats;
    }

    /** Forget the held token: the next getToken() asks for a new one. */
    public function clear(): void
    {
        $this->check($this->ffi->flx_client_clear($this->handle()));
    }

    /**
     * The guide's isAccessTokenExpired: $now - $createdAt >= $expiresIn - $threshold, exact for
     * every int (no overflow); an $expiresIn at or below $threshold is always expired.
     * The library computes it: the one a TokenClient already loaded, else found as the
     * constructor finds it without options.
     *
     * @throws LibraryLoadException the library cannot be loaded
     */
    public static function isAccessTokenExpired(int $createdAt, int $expiresIn, int $now, int $threshold = 60): bool
    {
        [$ffi] = Library::any();

        return (bool) $ffi->flx_is_access_token_expired($createdAt, $expiresIn, $now, $threshold);
    }

    /**
     * Which library the binding uses with these options ("library" and "header" only):
     * ["version" => "0.1.0", "source" => "option"|"env"|"scope"|"package"|"system",
     *  "path" => .so path or FFI_LIB name (null for "scope"), "header" => header path or null].
     * "scope" means the library was loaded at startup by ffi.preload (shared by every request).
     *
     * @param array<string, string|null> $options
     *
     * @return array{version: string, source: string, path: string|null, header: string|null}
     *
     * @throws LibraryLoadException
     */
    public static function libraryInfo(array $options = []): array
    {
        foreach (array_keys($options) as $name) {
            if (!in_array($name, self::BINDING_OPTIONS, true)) {
                throw new InvalidArgumentException(
                    sprintf('libraryInfo() takes only the options %s', implode(', ', self::BINDING_OPTIONS)),
                    FlexitiException::FLX_ERR_INVALID_ARGUMENT
                );
            }
        }
        [$ffi, $info] = Library::load($options['library'] ?? null, $options['header'] ?? null);

        return ['version' => (string) $ffi->flx_version()] + $info;
    }

    /** The library's version, e.g. "0.1.0" (the library as isAccessTokenExpired() finds it). */
    public static function libraryVersion(): string
    {
        [$ffi] = Library::any();

        return (string) $ffi->flx_version();
    }

    /** @return array<string, string> what var_dump() shows: no handle, no secret */
    public function __debugInfo(): array
    {
        return ['apiUrl' => $this->apiUrl ?? '', 'clientId' => $this->clientId ?? ''];
    }

    /**
     * A handle has exactly one owner: `clone` is an Error (private, so no copy is ever made);
     * create another client, or share exportSession() JSON.
     */
    private function __clone()
    {
    }

    /** @return array<string, mixed> */
    public function __serialize(): array
    {
        throw new \LogicException('a TokenClient cannot be serialised; store its exportSession() JSON instead');
    }

    /** @param array<string, mixed> $data */
    public function __unserialize(array $data): void
    {
        throw new \LogicException('a TokenClient cannot be unserialised; create one and importSession() the stored JSON');
    }

    // ---- internals --------------------------------------------------------------------------

    /** @return \FFI\CData */
    private function handle()
    {
        if ($this->handle === null) {
            throw FlexitiException::fromStatus(FlexitiException::FLX_ERR_INVALID_ARGUMENT, 'this TokenClient has been released');
        }

        return $this->handle;
    }

    /** @param \FFI\CData $handle */
    private function set($handle, string $name, string $value): void
    {
        self::assertNoNul("option $name", $value);
        self::assertNoNul('option name', $name);
        $this->check($this->ffi->flx_client_set_option($handle, $name, $value));
    }

    /**
     * A char* from the library as a PHP string; the C string is freed here, whatever happens.
     *
     * @param \FFI\CData|null $p
     */
    private function take($p): string
    {
        if ($p === null) {
            throw $this->lastError();
        }
        try {
            return \FFI::string($p);
        } finally {
            $this->ffi->flx_string_free($p);
        }
    }

    private function check(int $status): void
    {
        if ($status !== FlexitiException::FLX_OK) {
            throw $this->lastError($status);
        }
    }

    /** The exception for this thread's last failed call (read before any other library call). */
    private function lastError(?int $status = null): FlexitiException
    {
        $code = (int) $this->ffi->flx_last_error_code();
        $message = (string) $this->ffi->flx_last_error_message();
        if ($code === FlexitiException::FLX_OK) {
            $code = $status ?? FlexitiException::FLX_ERR_INTERNAL;
            $message = $message !== '' ? $message : 'the library reported a failure without an error message';
        }

        return FlexitiException::fromStatus($code, $message);
    }

    private static function assertNoNul(string $what, #[\SensitiveParameter] string $value): void
    {
        if (strpos($value, "\0") !== false) {
            throw new InvalidArgumentException(
                sprintf('%s holds a NUL byte (C strings end at the first one)', $what),
                FlexitiException::FLX_ERR_INVALID_ARGUMENT
            );
        }
    }

    /** @param mixed $value */
    private static function optionString(string $name, $value): string
    {
        if (is_string($value)) {
            return $value;
        }
        if (is_int($value)) {
            return (string) $value;
        }
        if (is_bool($value)) {
            return $value ? 'true' : 'false';
        }
        throw new InvalidArgumentException(
            sprintf('option %s must be a string, int or bool, got %s', $name, get_debug_type($value)),
            FlexitiException::FLX_ERR_INVALID_ARGUMENT
        );
    }
}
