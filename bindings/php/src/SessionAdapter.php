<?php

declare(strict_types=1);

namespace Flexiti\Auth;

use Flexiti\Auth\Exception\FlexitiException;
use Flexiti\Auth\Exception\InvalidArgumentException;
use Flexiti\Auth\Exception\SessionException;

/**
 * Keeps the token in a user session the way the Flexiti guide's Magento code does, so one call
 * does the guide's whole getFlexitiToken():
 *
 *     $tokens = new SessionAdapter($client, $this->session);   // e.g. Magento\Checkout\Model\Session
 *     $token  = $tokens->getToken($getFlxAccessTokenFromCache);  // imports, gets, exports
 *
 * The session holds three values, under the guide's names:
 *   FlxOauthToken               the token response as a JSON string (json_encode of the response)
 *   FlxAccessTokenCreatedTime   unix seconds at which the token was requested
 *   FlxAccessTokenExpiresIn     the token's lifetime in seconds
 * so sessions written by the guide's PHP code are read as they are, and the other way round.
 *
 * Any session object works:
 *  - magic accessors, Magento style: getFlxOauthToken() / setFlxOauthToken($v) (real methods or
 *    __call, e.g. Magento\Framework\Session\SessionManager, Magento\Framework\DataObject);
 *  - get($key) / set($key, $value), e.g. Symfony's SessionInterface;
 *  - ArrayAccess, e.g. ArrayObject.
 *
 * Before each call the session is imported into the client (an empty session clears the client,
 * so one client can serve many sessions, never leaking one user's token into another's); after
 * a successful call the client's token is written back. A session value that cannot be imported
 * (missing pieces, corrupt JSON, created in the future) counts as no token: a new one is
 * requested and overwrites it, as the guide does when FlxOauthToken is empty. When the request
 * fails, the exception propagates and the session is left as it was.
 *
 * Over a persistent client (TokenClient::persistent(), the PHP-FPM setup) the token is the
 * merchant's, shared by every shopper the worker serves, so the session is never its source:
 *  - nothing is imported from the session: an empty, expired or foreign session neither clears
 *    nor replaces the shared token (one shopper cannot drop or roll back everybody's token);
 *  - after each successful call the shared token is mirrored into the session under the guide's
 *    keys, for code that still reads FlxOauthToken & co.;
 *  - clear() (a shopper's logout) removes the three values from that session only; the shared
 *    token stays. To forget the shared token itself, call the client's clear().
 * lastImportProblem() is then always null.
 */
final class SessionAdapter
{
    public const KEY_TOKEN = 'FlxOauthToken';
    public const KEY_CREATED_AT = 'FlxAccessTokenCreatedTime';
    public const KEY_EXPIRES_IN = 'FlxAccessTokenExpiresIn';

    private TokenClient $client;

    /** @var object */
    private $session;

    /** @var array{token: string, created_at: string, expires_in: string} */
    private array $keys;

    private string $access;

    /** Why the last import found no usable token (null: it found one, or nothing was stored). */
    private ?string $lastImportProblem = null;

    /**
     * @param object $session a session object (see the class comment)
     * @param array{token?: string, created_at?: string, expires_in?: string} $keys other key names
     */
    public function __construct(TokenClient $client, $session, array $keys = [])
    {
        if (!is_object($session)) {
            throw new InvalidArgumentException(
                sprintf('the session must be an object, got %s', get_debug_type($session)),
                FlexitiException::FLX_ERR_INVALID_ARGUMENT
            );
        }
        $unknown = array_diff(array_keys($keys), ['token', 'created_at', 'expires_in']);
        if ($unknown !== []) {
            throw new InvalidArgumentException(
                'unknown session key role(s): ' . implode(', ', $unknown) . ' (token, created_at, expires_in)',
                FlexitiException::FLX_ERR_INVALID_ARGUMENT
            );
        }
        $this->keys = [
            'token' => $keys['token'] ?? self::KEY_TOKEN,
            'created_at' => $keys['created_at'] ?? self::KEY_CREATED_AT,
            'expires_in' => $keys['expires_in'] ?? self::KEY_EXPIRES_IN,
        ];
        foreach ($this->keys as $role => $key) {
            if (!is_string($key) || preg_match('/^[A-Za-z][A-Za-z0-9_]*$/', $key) !== 1) {
                throw new InvalidArgumentException(
                    sprintf('session key for %s must be an identifier-like string', $role),
                    FlexitiException::FLX_ERR_INVALID_ARGUMENT
                );
            }
        }
        $this->client = $client;
        $this->session = $session;
        $this->access = self::accessStyle($session, $this->keys['token']);
    }

    /**
     * The guide's getFlexitiToken($getFlxAccessTokenFromCache): the session's token, refreshed
     * or cached as TokenClient::getToken() decides; the session then holds the result.
     *
     * @return array<string, mixed>
     *
     * @throws FlexitiException as TokenClient::getToken(); the session is unchanged
     */
    public function getToken(bool $useCache = false): array
    {
        $this->import();
        $token = $this->client->getToken($useCache);
        $this->export();

        return $token;
    }

    /**
     * Like getToken(), but only the access token.
     *
     * @throws FlexitiException as TokenClient::getToken(); the session is unchanged
     */
    public function getAccessToken(bool $useCache = false): string
    {
        $this->import();
        $token = $this->client->getAccessToken($useCache);
        $this->export();

        return $token;
    }

    /**
     * Forget the token, in the client and in the session (e.g. at logout). Over a persistent
     * client, only in the session: the shared token stays for the other sessions.
     */
    public function clear(): void
    {
        if (!$this->client->isPersistent()) {
            $this->client->clear();
        }
        foreach ($this->keys as $key) {
            $this->write($key, null);
        }
    }

    /** Why the last getToken() could not use the session's values (null when it could, or none were stored). */
    public function lastImportProblem(): ?string
    {
        return $this->lastImportProblem;
    }

    // ---- internals --------------------------------------------------------------------------

    private function import(): void
    {
        $this->lastImportProblem = null;
        if ($this->client->isPersistent()) {
            return; // the shared token is the source: see the class comment
        }
        $token = $this->read($this->keys['token']);
        $createdAt = $this->read($this->keys['created_at']);
        $expiresIn = $this->read($this->keys['expires_in']);
        if ($token === null || $token === '' || $token === false) {
            $this->client->clear();

            return;
        }
        try {
            $this->client->importSession(self::sessionJson($token, $createdAt, $expiresIn));
        } catch (SessionException | InvalidArgumentException $e) {
            $this->lastImportProblem = $e->getMessage();
            $this->client->clear();
        }
    }

    private function export(): void
    {
        $session = json_decode($this->client->exportSession(), true);
        if (!is_array($session) || !is_array($session['token'] ?? null)) {
            throw FlexitiException::fromStatus(FlexitiException::FLX_ERR_INTERNAL, 'the library exported session JSON that PHP cannot decode');
        }
        $token = json_encode($session['token'], JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
        if ($token === false) {
            throw FlexitiException::fromStatus(FlexitiException::FLX_ERR_INTERNAL, 'cannot encode the token as JSON: ' . json_last_error_msg());
        }
        $this->write($this->keys['token'], $token);
        $this->write($this->keys['created_at'], (int) $session['created_at']);
        $this->write($this->keys['expires_in'], (int) $session['expires_in']);
    }

    /**
     * The library's session document from the three stored values. Numbers stored as numeric
     * strings (some session back ends keep only strings) are accepted.
     *
     * @param mixed $token
     * @param mixed $createdAt
     * @param mixed $expiresIn
     */
    private static function sessionJson(#[\SensitiveParameter] $token, $createdAt, $expiresIn): string
    {
        if (is_array($token) || is_object($token)) {
            $token = json_encode($token);
        }
        if (!is_string($token)) {
            throw new SessionException('the stored token is not a JSON string', FlexitiException::FLX_ERR_SESSION);
        }
        $doc = ['token' => $token, 'created_at' => self::intValue($createdAt), 'expires_in' => self::intValue($expiresIn)];
        if ($doc['expires_in'] === null) {
            // The guide reads expires_in from the token response when no separate value is kept.
            $decoded = json_decode($token, true);
            $doc['expires_in'] = is_array($decoded) ? self::intValue($decoded['expires_in'] ?? null) : null;
        }
        if ($doc['created_at'] === null || $doc['expires_in'] === null) {
            throw new SessionException('the session lacks the token\'s created time or lifetime', FlexitiException::FLX_ERR_SESSION);
        }

        return (string) json_encode($doc);
    }

    /** @param mixed $v */
    private static function intValue($v): ?int
    {
        if (is_int($v)) {
            return $v;
        }
        if (is_string($v) && preg_match('/^-?[0-9]{1,18}$/', $v) === 1) {
            return (int) $v;
        }

        return null;
    }

    /** @param object $session */
    private static function accessStyle($session, string $tokenKey): string
    {
        if (method_exists($session, 'get') && method_exists($session, 'set')) {
            return 'get/set';
        }
        if (is_callable([$session, 'get' . $tokenKey]) && is_callable([$session, 'set' . $tokenKey])) {
            return 'magic';
        }
        if ($session instanceof \ArrayAccess) {
            return 'array';
        }
        throw new InvalidArgumentException(
            sprintf('the session (%s) has neither getX()/setX() accessors, nor get()/set(), nor ArrayAccess', get_class($session)),
            FlexitiException::FLX_ERR_INVALID_ARGUMENT
        );
    }

    /** @return mixed */
    private function read(string $key)
    {
        switch ($this->access) {
            case 'get/set':
                return $this->session->get($key);
            case 'magic':
                return $this->session->{'get' . $key}();
            default:
                return isset($this->session[$key]) ? $this->session[$key] : null;
        }
    }

    /** @param mixed $value */
    private function write(string $key, $value): void
    {
        switch ($this->access) {
            case 'get/set':
                $this->session->set($key, $value);
                break;
            case 'magic':
                $this->session->{'set' . $key}($value);
                break;
            default:
                if ($value === null) {
                    unset($this->session[$key]);
                } else {
                    $this->session[$key] = $value;
                }
        }
    }
}
