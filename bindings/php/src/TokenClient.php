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
 * line per event, never a secret; PHP gets logs from a file, not a callback), max_response_bytes
 * (8388608: the largest answer request() accepts), token_store ("file:/abs/dir" or an absolute
 * directory: every process using it shares one token and one request; a directory that is not
 * this user's alone (0700) throws StoreException), refresh_min_age_secs (a getToken(false)
 * refreshes only a token at least this old; 60 is recommended with a token_store). Options of the
 * binding itself: "library" (path of libflexiti_auth.so) and
 * "header" (path of flexiti_auth_php.h); see Library for where they are looked for otherwise.
 *
 * Logging: "logger" (a PSR-3 logger: any object with log($level, $message, array $context)) gets
 * the library's lines as records after every call of this client, or "log_drain" => true keeps
 * them for drainLogs(). Either way the library appends them to a private temporary file (0600 in
 * sys_get_temp_dir(), removed by the destructor) that the binding reads from where it stopped;
 * "log_file" cannot be combined with them. With a logger, log_level defaults to "info" (unless
 * FLX_LOG is set). No FFI callback is involved (those leak in PHP, once per request).
 *
 * One instance holds one token (one user session: see SessionAdapter). It cannot be cloned or
 * serialised; keep the session JSON (exportSession) instead. The secret and session JSON are
 * #[\SensitiveParameter]s: PHP 8.2+ leaves them out of stack traces.
 *
 * Under PHP-FPM, prefer TokenClient::persistent(): the process-wide handle of the account, whose
 * token, options and kept-alive connection outlive the request (the worker's next request finds
 * the token with no request to Flexiti and no new connection). See persistent().
 */
final class TokenClient
{
    /** Options consumed by the binding, not passed to the library. */
    private const BINDING_OPTIONS = ['library', 'header', 'logger', 'log_drain'];

    /** Options that select the library, only at construction. */
    private const LIBRARY_OPTIONS = ['library', 'header'];

    /** The library's level names and their PSR-3 levels (Psr\Log\LogLevel values). */
    private const PSR_LEVELS = ['ERROR' => 'error', 'WARN' => 'warning', 'INFO' => 'info', 'DEBUG' => 'debug'];

    /** Prefix of the private log files in sys_get_temp_dir(). */
    private const LOG_FILE_PREFIX = 'flexiti-auth-log-';

    private \FFI $ffi;

    /** @var \FFI\CData|null the FlxClient*, freed by the destructor */
    private $handle = null;

    /** The handle is the process-wide one of flx_client_persistent (the library never frees it). */
    private bool $persistent = false;

    /** Set by persistent() for the constructor it calls (PHP has no second constructor). */
    private static bool $openPersistent = false;

    private string $apiUrl;

    private string $clientId;

    /** @var object|null the PSR-3 logger ("logger" option) */
    private $logger = null;

    /** The private file the library appends its lines to (null: no logger, no drain). */
    private ?string $logPath = null;

    /** @var resource|null $logPath open for reading, from the constructor to the destructor */
    private $logReader = null;

    /** How far $logPath has been read: the byte after the last complete line read. */
    private int $logOffset = 0;

    /** The last token JSON getToken() decoded, and its decoded array (the cached path repeats it). */
    private ?string $lastTokenJson = null;

    /** @var array<string, mixed> */
    private array $lastToken = [];

    /**
     * What the getters copy a token into (flx_get_token_into): one FFI call and no pointer
     * object per call. Overwritten with zeros when this object goes away.
     *
     * @var \FFI\CData|null
     */
    private $buf = null;

    /** Bytes of $buf; a longer token is taken through the allocating getters instead. */
    private const BUF_BYTES = 4096;

    /**
     * @param string $apiUrl the API base, e.g. "https://posapi.flexiti.fi/" (http:// only for loopback)
     * @param array<string, mixed> $options library options (string|int|bool), "library",
     *                                      "header", "logger" (object), "log_drain" (bool)
     *
     * @throws InvalidArgumentException empty or malformed arguments, unknown option, bad value
     * @throws LibraryLoadException     the library cannot be found or loaded
     */
    public function __construct(string $apiUrl, string $clientId, #[\SensitiveParameter] string $clientSecret, array $options = [])
    {
        $persistent = self::$openPersistent;
        self::$openPersistent = false;
        if (str_contains($apiUrl . $clientId . $clientSecret, "\0")) { // one test on the per-request path
            self::assertNoNul('api_url', $apiUrl);
            self::assertNoNul('client_id', $clientId);
            self::assertNoNul('client_secret', $clientSecret);
        }
        $libraryOptions = [];
        foreach ($options as $name => $value) {
            if (!is_string($name)) {
                throw new InvalidArgumentException(
                    sprintf('option names must be strings, got %s key %s', get_debug_type($name), var_export($name, true)),
                    FlexitiException::FLX_ERR_INVALID_ARGUMENT
                );
            }
            if ($name === 'logger' || $name === 'log_drain') {
                continue;
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
        $logger = $options['logger'] ?? null;
        if ($logger !== null && !self::isLogger($logger)) {
            throw new InvalidArgumentException(
                sprintf('option logger must be a PSR-3 logger (an object with a log($level, $message, array $context) method), got %s', get_debug_type($logger)),
                FlexitiException::FLX_ERR_INVALID_ARGUMENT
            );
        }
        $drain = $options['log_drain'] ?? false;
        if (!is_bool($drain)) {
            throw new InvalidArgumentException(
                sprintf('option log_drain must be a bool, got %s', get_debug_type($drain)),
                FlexitiException::FLX_ERR_INVALID_ARGUMENT
            );
        }
        $capture = $logger !== null || $drain;
        if ($capture && array_key_exists('log_file', $libraryOptions)) {
            throw new InvalidArgumentException(
                'option log_file cannot be combined with logger or log_drain (they use a log file of their own)',
                FlexitiException::FLX_ERR_INVALID_ARGUMENT
            );
        }
        if ($logger !== null && !array_key_exists('log_level', $libraryOptions) && (string) getenv('FLX_LOG') === '') {
            $libraryOptions = ['log_level' => 'info'] + $libraryOptions;
        }
        if (array_key_exists('log_level', $libraryOptions)) {
            // First, so that the other options are set with the logging the caller asked for.
            $libraryOptions = ['log_level' => $libraryOptions['log_level']] + $libraryOptions;
        }

        [$this->ffi] = Library::load($options['library'] ?? null, $options['header'] ?? null);
        $handle = $persistent
            ? $this->ffi->flx_client_persistent($apiUrl, $clientId, $clientSecret)
            : $this->ffi->flx_client_new($apiUrl, $clientId, $clientSecret);
        if ($handle === null) {
            throw $this->lastError();
        }
        $logPath = null;
        try {
            if ($capture) {
                $logPath = self::createLogFile();
                $reader = @fopen($logPath, 'rb');
                if ($reader === false) {
                    throw new InvalidArgumentException(
                        'options logger, log_drain: cannot read back the private log file',
                        FlexitiException::FLX_ERR_INVALID_ARGUMENT
                    );
                }
                $this->logReader = $reader;
                $this->set($handle, 'log_file', $logPath);
            }
            foreach ($libraryOptions as $name => $value) {
                $this->set($handle, $name, $value);
            }
        } catch (\Throwable $e) {
            // A constructor that throws gets no destructor call.
            if ($capture && $persistent) {
                $this->ffi->flx_client_set_option($handle, 'log_file', '');
            }
            $this->ffi->flx_client_free($handle); // a no-op for a persistent handle
            if ($this->logReader !== null) {
                fclose($this->logReader);
                $this->logReader = null;
            }
            if ($logPath !== null) {
                @unlink($logPath);
            }
            throw $e;
        }
        $this->handle = $handle;
        $this->persistent = $persistent;
        $this->apiUrl = $apiUrl;
        $this->clientId = $clientId;
        $this->logger = $logger;
        $this->logPath = $logPath;
        try {
            if ($logger !== null) {
                $this->forwardLogs();
            }
        } catch (\Throwable $e) {
            $this->__destruct(); // a constructor that throws gets no destructor call
            throw $e;
        }
    }

    /**
     * The process-wide client of this account (flx_client_persistent): the recommended way under
     * PHP-FPM. Every call in the same process (an FPM worker serves many requests) with the same
     * api_url, client_id and secret uses one library handle, so its token, options and kept-alive
     * connection outlive the request: the worker's next request gets the token with no request to
     * Flexiti and no new connection. Each call returns a new TokenClient object over that handle;
     * destroying it releases nothing in the library.
     *
     *     $client = TokenClient::persistent($apiUrl, $clientId, $clientSecret, ['timeout_ms' => 10000]);
     *     $bearer = $client->getAccessToken(true);    // price calculator: usually no request at all
     *
     * $options are set on the shared handle on every call (a value it already has costs nothing,
     * the connection stays) and stay set for the process's later users. The token is the
     * merchant's, shared by every user session of the process: clear() forgets it for all of them,
     * importSession() replaces it for all of them, and SessionAdapter over a persistent client
     * only mirrors the shared token into the session (see SessionAdapter). "logger"/"log_drain"
     * capture the library's lines while this object lives. At most 64 accounts per process; the
     * 65th throws InvalidArgumentException.
     *
     * @param array<string, mixed> $options as for the constructor
     *
     * @throws InvalidArgumentException empty or malformed arguments, unknown option, bad value,
     *                                  more than 64 accounts in this process
     * @throws LibraryLoadException     the library cannot be found or loaded
     */
    public static function persistent(string $apiUrl, string $clientId, #[\SensitiveParameter] string $clientSecret, array $options = []): TokenClient
    {
        self::$openPersistent = true;
        try {
            return new self($apiUrl, $clientId, $clientSecret, $options);
        } finally {
            self::$openPersistent = false;
        }
    }

    /** True for a client from persistent(): its handle, token and options are the process's. */
    public function isPersistent(): bool
    {
        return $this->persistent;
    }

    public function __destruct()
    {
        if ($this->buf !== null) {
            \FFI::memset($this->buf, 0, self::BUF_BYTES);
            $this->buf = null;
        }
        if ($this->handle !== null) {
            $handle = $this->handle;
            $this->handle = null;
            if (!$this->persistent) {
                $this->ffi->flx_client_free($handle); // closes the log file
            } elseif ($this->logPath !== null) {
                // The shared handle outlives this object (flx_client_free would do nothing): stop
                // it writing to our private file.
                $this->ffi->flx_client_set_option($handle, 'log_file', '');
            }
        }
        if ($this->logReader !== null) {
            $reader = $this->logReader;
            $this->logReader = null;
            fclose($reader);
        }
        if ($this->logPath !== null) {
            $path = $this->logPath;
            $this->logPath = null;
            @unlink($path);
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
        if (in_array($name, self::LIBRARY_OPTIONS, true)) {
            throw new InvalidArgumentException(
                sprintf('option %s selects the library: pass it to the constructor', $name),
                FlexitiException::FLX_ERR_INVALID_ARGUMENT
            );
        }
        if (in_array($name, self::BINDING_OPTIONS, true)) {
            throw new InvalidArgumentException(
                sprintf('option %s can only be given to the constructor', $name),
                FlexitiException::FLX_ERR_INVALID_ARGUMENT
            );
        }
        if ($name === 'log_file' && $this->logPath !== null) {
            throw new InvalidArgumentException(
                'option log_file cannot be changed on a client with a logger or log_drain (they use a log file of their own)',
                FlexitiException::FLX_ERR_INVALID_ARGUMENT
            );
        }
        $handle = $this->handle();
        $this->logged(fn () => $this->set($handle, $name, self::optionString($name, $value)));
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
        $handle = $this->handle ?? $this->handle(); // inline: the price-calculator path
        if ($this->logger === null) {
            $buf = $this->buf ??= $this->ffi->new('char[' . self::BUF_BYTES . ']');
            $n = $this->ffi->flx_get_token_into($handle, $useCache, $buf, self::BUF_BYTES);
            $json = $n >= 0 && $n < self::BUF_BYTES ? \FFI::string($buf, $n) : $this->intoFailed($n, false);
        } else {
            $json = $this->logged(fn () => $this->take($this->ffi->flx_get_token($handle, $useCache)));
        }
        // The cached path returns the same JSON again and again: decode it once.
        if ($json === $this->lastTokenJson) {
            return $this->lastToken;
        }
        $token = json_decode($json, true);
        if (!is_array($token)) {
            throw FlexitiException::fromStatus(FlexitiException::FLX_ERR_INTERNAL, 'the library returned token JSON that PHP cannot decode: ' . json_last_error_msg());
        }
        $this->lastTokenJson = $json;
        $this->lastToken = $token;

        return $token;
    }

    /**
     * Like getToken(), but only the access token, for an "Authorization: Bearer ..." header.
     *
     * @throws FlexitiException as getToken()
     */
    public function getAccessToken(bool $useCache = false): string
    {
        $handle = $this->handle ?? $this->handle(); // inline: the price-calculator path
        if ($this->logger === null) {
            // The direct path (no log capture): one FFI call into a buffer this object keeps, no
            // closure, no finally, no method call on the price-calculator path.
            $buf = $this->buf ??= $this->ffi->new('char[' . self::BUF_BYTES . ']');
            $n = $this->ffi->flx_get_access_token_into($handle, $useCache, $buf, self::BUF_BYTES);

            return $n >= 0 && $n < self::BUF_BYTES ? \FFI::string($buf, $n) : $this->intoFailed($n, true);
        }

        return $this->logged(fn () => $this->take($this->ffi->flx_get_access_token($handle, $useCache)));
    }

    /**
     * The held token as session JSON: {"token":{...},"created_at":N,"expires_in":N}. It holds
     * secrets (the refresh token): store it like a password, e.g. in the server-side session.
     *
     * @throws Exception\SessionException no token is held
     */
    public function exportSession(): string
    {
        $handle = $this->handle();

        return $this->logged(fn () => $this->take($this->ffi->flx_session_export($handle)));
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
        $handle = $this->handle();
        $this->logged(fn () => $this->check($this->ffi->flx_session_import($handle, $json)));
    }

    /**
     * An authenticated POS-API call, made by the library (flx_request): $method (GET, POST, PUT,
     * PATCH, DELETE, HEAD) to $path joined to the api_url, with "Authorization: Bearer" and the
     * token getToken($useCache) would give, a fresh x-reference-id, Accept (and with a body
     * Content-Type) application/json, over the same kept-alive connection as the token requests.
     *
     * The library resends once, with a new token, after a 401 invalid_token (for every method),
     * and retries transient failures (connect errors, resets, 502/503/504, 429 with Retry-After)
     * up to max_retries for GET, HEAD, PUT and DELETE only; this method adds no retry of its own.
     * Every HTTP status is returned, 4xx and 5xx included, with its body.
     *
     * @param array<mixed>|null        $json    the request body, sent as JSON (null: no body)
     * @param array<string|int,string> $headers extra request headers: ['X-Name' => 'value'] (or
     *                                          'X-Name: value' strings); Authorization and Host
     *                                          are refused, and so are line breaks
     *
     * @return array{status: int, headers: array<string, string>, body: mixed, json: mixed, raw: string}
     *         "status": the HTTP status; "headers": every response header, names lower-case
     *         (repeated ones joined with ", "); "body": the body decoded as JSON (associative
     *         arrays), or the raw text when it is not JSON ("" when empty); "json": the decoded
     *         JSON, or null when the body is not JSON; "raw": the body as is
     *
     * @throws InvalidArgumentException bad method, path, header or JSON (nothing is sent)
     * @throws FlexitiException         NetworkException (no answer), BadResponseException (an
     *                                  answer over the max_response_bytes option), or the token
     *                                  request's exception
     */
    public function request(string $method, string $path, ?array $json = null, array $headers = [], bool $useCache = true): array
    {
        self::assertNoNul('method', $method);
        self::assertNoNul('path', $path);
        $body = null;
        if ($json !== null) {
            try {
                $body = json_encode($json, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION);
            } catch (\JsonException $e) {
                throw new InvalidArgumentException('json cannot be encoded as JSON: ' . $e->getMessage(), FlexitiException::FLX_ERR_INVALID_ARGUMENT);
            }
            self::assertNoNul('json', $body);
        }
        $lines = [];
        foreach ($headers as $name => $value) {
            if (!is_string($value) && !is_int($value)) {
                throw new InvalidArgumentException(
                    sprintf('header %s must have a string value, got %s', var_export($name, true), get_debug_type($value)),
                    FlexitiException::FLX_ERR_INVALID_ARGUMENT
                );
            }
            $line = is_int($name) ? (string) $value : $name . ': ' . $value;
            if (strpbrk($line, "\r\n\0") !== false) {
                throw new InvalidArgumentException(
                    sprintf('header %s holds a line break or a NUL byte', var_export($name, true)),
                    FlexitiException::FLX_ERR_INVALID_ARGUMENT
                );
            }
            $lines[] = $line;
        }
        $headerText = $lines === [] ? null : implode("\n", $lines);
        $handle = $this->handle();

        return $this->logged(function () use ($handle, $method, $path, $body, $headerText, $useCache): array {
            $status = $this->ffi->new('int32_t');
            $out = $this->ffi->new('char *');
            $rc = (int) $this->ffi->flx_request($handle, $method, $path, $body, $headerText, $useCache, \FFI::addr($status), \FFI::addr($out));
            if ($rc !== FlexitiException::FLX_OK) {
                throw $this->lastError($rc);
            }
            $raw = $this->take($out);
            $responseHeaders = [];
            foreach (explode("\n", (string) $this->ffi->flx_last_response_headers()) as $line) {
                $at = strpos($line, ': ');
                if ($at !== false) {
                    $name = substr($line, 0, $at);
                    $value = substr($line, $at + 2);
                    $responseHeaders[$name] = isset($responseHeaders[$name]) ? $responseHeaders[$name] . ', ' . $value : $value;
                }
            }
            $json = json_decode($raw, true);
            $isJson = json_last_error() === JSON_ERROR_NONE;

            return ['status' => (int) $status->cdata, 'headers' => $responseHeaders, 'body' => $isJson ? $json : $raw,
                'json' => $isJson ? $json : null, 'raw' => $raw];
        });
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
        $handle = $this->handle();
        $stats = json_decode($this->logged(fn () => $this->take($this->ffi->flx_client_stats($handle))), true);
        if (!is_array($stats)) {
            throw FlexitiException::fromStatus(FlexitiException::FLX_ERR_INTERNAL, 'the library returned stats JSON that PHP cannot decode');
        }

        return $stats;
    }

    /** Forget the held token: the next getToken() asks for a new one. */
    public function clear(): void
    {
        $handle = $this->handle();
        $this->logged(fn () => $this->check($this->ffi->flx_client_clear($handle)));
    }

    /**
     * The library's log lines written since the last drain, oldest first, each as
     * ["time" => "2026-11-25T17:40:00Z", "level" => PSR-3 level ("error", "warning", "info",
     * "debug"), "message" => the text after "flexiti-auth: ", "line" => the whole line].
     * Needs the "log_drain" or "logger" option (otherwise: []). With a logger, every call
     * already forwards its lines, so this returns only lines not forwarded yet (normally none);
     * the lines returned here are forwarded to the logger too. Lines never hold a secret.
     *
     * @return list<array{time: string, level: string, message: string, line: string}>
     */
    public function drainLogs(): array
    {
        return $this->forwardLogs();
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
            if (!in_array($name, self::LIBRARY_OPTIONS, true)) {
                throw new InvalidArgumentException(
                    sprintf('libraryInfo() takes only the options %s', implode(', ', self::LIBRARY_OPTIONS)),
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
        return ['apiUrl' => $this->apiUrl ?? '', 'clientId' => $this->clientId ?? '', 'persistent' => $this->persistent];
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

    /**
     * Run one library call, then forward the log lines it wrote to the logger, even when it
     * throws (so the error line reaches the logger before the exception reaches the caller).
     *
     * @template T
     *
     * @param \Closure(): T $call
     *
     * @return T
     */
    private function logged(\Closure $call)
    {
        if ($this->logger === null) {
            return $call(); // no logger: the lines wait for drainLogs()
        }
        try {
            return $call();
        } finally {
            $this->forwardLogs();
        }
    }

    /**
     * Read the complete lines appended to the private log file since the last read, hand each
     * to the logger (if any), and return them.
     *
     * @return list<array{time: string, level: string, message: string, line: string}>
     */
    private function forwardLogs(): array
    {
        if ($this->logReader === null) {
            return [];
        }
        // The file stays open: one fstat() when nothing was written, and still readable if a
        // tmp cleaner unlinks it (the library's descriptor and this one share the inode).
        $stat = fstat($this->logReader);
        $size = is_array($stat) ? $stat['size'] : 0;
        if ($size < $this->logOffset) {
            $this->logOffset = 0; // truncated behind our back: start over
        }
        if ($size === $this->logOffset || fseek($this->logReader, $this->logOffset) !== 0) {
            return [];
        }
        $chunk = (string) stream_get_contents($this->logReader);
        $end = strrpos($chunk, "\n");
        if ($end === false) {
            return []; // a line still being written: next time
        }
        $this->logOffset += $end + 1;
        $records = [];
        foreach (explode("\n", substr($chunk, 0, $end)) as $line) {
            if ($line !== '') {
                $records[] = self::parseLogLine($line);
            }
        }
        if ($this->logger !== null) {
            foreach ($records as $r) {
                $this->logger->log($r['level'], $r['message'], ['library' => 'flexiti-auth', 'time' => $r['time']]);
            }
        }

        return $records;
    }

    /** @return array{time: string, level: string, message: string, line: string} */
    private static function parseLogLine(string $line): array
    {
        if (preg_match('/^(\S+) (ERROR|WARN|INFO|DEBUG) flexiti-auth: (.*)$/s', $line, $m) === 1) {
            return ['time' => $m[1], 'level' => self::PSR_LEVELS[$m[2]], 'message' => $m[3], 'line' => $line];
        }

        // Not the library's format (cannot happen with this library): keep it whole.
        return ['time' => gmdate('Y-m-d\TH:i:s\Z'), 'level' => 'info', 'message' => $line, 'line' => $line];
    }

    /** A private, empty, new file (mode 0600, unique name) in sys_get_temp_dir(). */
    private static function createLogFile(): string
    {
        $dir = sys_get_temp_dir();
        // tempnam() is mkstemp(): created with O_EXCL and mode 0600 at once, never someone
        // else's file or link. It falls back to another directory with a notice: not wanted.
        $path = is_dir($dir) && is_writable($dir) ? @tempnam($dir, self::LOG_FILE_PREFIX) : false;
        if ($path === false || !@chmod($path, 0600)) {
            if (is_string($path)) {
                @unlink($path);
            }
            throw new InvalidArgumentException(
                sprintf('options logger, log_drain: cannot create a private log file in %s (sys_get_temp_dir())', $dir),
                FlexitiException::FLX_ERR_INVALID_ARGUMENT
            );
        }

        return $path;
    }

    /** @param mixed $logger */
    private static function isLogger($logger): bool
    {
        if (!is_object($logger)) {
            return false;
        }

        return $logger instanceof \Psr\Log\LoggerInterface || is_callable([$logger, 'log']);
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

    /**
     * take() for the direct paths: FFI::string of a valid char* cannot throw, so the string is
     * freed right after it is copied, without a finally block.
     *
     * @param \FFI\CData|null $p
     */
    /**
     * A getter's _into call did not give a string: -1 is its error; a length that does not fit
     * the buffer means the token is held (and valid): take it through the allocating getter's
     * cached path, which sends no request for it.
     */
    private function intoFailed(int $n, bool $access): string
    {
        if ($n < 0) {
            throw $this->lastError();
        }
        $handle = $this->handle();
        $p = $access ? $this->ffi->flx_get_access_token($handle, true) : $this->ffi->flx_get_token($handle, true);
        if ($p === null) {
            throw $this->lastError();
        }
        $s = \FFI::string($p);
        $this->ffi->flx_string_free($p);

        return $s;
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
