<?php
/*
 * The baseline: the PHP flow of Flexiti's "How to Implement the Refresh Token" guide, written
 * plainly (shared/reference/flexiti-refresh-token-guide.txt), with what it needs around it:
 *  - a session object with the guide's getters and setters over an array (what Magento's
 *    session does, minus its magic __call);
 *  - curlCall(): a new curl handle per call, a form POST, the body back (what Magento's
 *    HTTP\Client\Curl does: curl_init per request);
 *  - httpDebug(): off, as in production.
 * getFlexitiToken() itself is the guide's code, line by line.
 */

declare(strict_types=1);

final class GuideSession
{
    /** @var array<string, mixed> */
    private array $data = [];

    public function getFlxOauthToken(): ?string { return $this->data['flx_oauth_token'] ?? null; }
    public function setFlxOauthToken(string $v): void { $this->data['flx_oauth_token'] = $v; }
    public function getFlxAccessTokenCreatedTime(): ?int { return $this->data['flx_access_token_created_time'] ?? null; }
    public function setFlxAccessTokenCreatedTime(int $v): void { $this->data['flx_access_token_created_time'] = $v; }
    public function getFlxAccessTokenExpiresIn(): ?int { return $this->data['flx_access_token_expires_in'] ?? null; }
    public function setFlxAccessTokenExpiresIn(int $v): void { $this->data['flx_access_token_expires_in'] = $v; }
}

final class GuideTokenFlow
{
    const FLX_EXPIRATION_TIME_THRESHOLD = 60;

    /** @param array<string, string> $config api_url (with a trailing slash), clientid, clientsecret */
    public function __construct(private GuideSession $session, private array $config, private ?string $caFile = null)
    {
    }

    private function getConfig(string $key): string
    {
        return $this->config[$key];
    }

    private function isAccessTokenExpired($accessTokenCreatedTime, $accessTokenExpirationTime)
    {
        $nowInSeconds = time();
        $limitThresholdInSeconds = $accessTokenExpirationTime - self::FLX_EXPIRATION_TIME_THRESHOLD;
        return ($nowInSeconds - $accessTokenCreatedTime >= $limitThresholdInSeconds);
    }

    /** The guide's getFlexitiToken, as published. */
    public function getFlexitiToken($getFlxAccessTokenFromCache = false)
    {
        $flxAccessToken = (null !== $this->session->getFlxOauthToken()) ? json_decode($this->session->getFlxOauthToken()) : null;
        $flxAccessTokenCreatedTime = $this->session->getFlxAccessTokenCreatedTime();
        $flxAccessTokenExpiresIn = $this->session->getFlxAccessTokenExpiresIn();
        if (isset($flxAccessToken) && !empty($flxAccessToken) && !$this->isAccessTokenExpired($flxAccessTokenCreatedTime, $flxAccessToken->expires_in)) {
            //REFRESH TOKEN or CACHE
            if ($getFlxAccessTokenFromCache) {
                //CACHE SHOULD BE TRUE ONLY FOR CALCULATOR CALLS
                return $flxAccessToken;
            }
            $oAuthParams["grant_type"] = "refresh_token";
            $oAuthParams["refresh_token"] = $flxAccessToken->refresh_token;
        } else {
            // ASK FOR A NEW ACCESS TOKEN
            $oAuthParams["grant_type"] = "client_credentials";
        }
        $oAuthParams["client_id"] = $this->getConfig('clientid');
        $oAuthParams["client_secret"] = $this->getConfig('clientsecret');
        $url = $this->getConfig('api_url') . "flexiti/online-api/oauth/token";
        try {
            $response = $this->curlCall($url, $oAuthParams);
        } catch (\Exception $e) {
            throw new \Exception("Flexiti Auth/token cUrl error:\n {$e->getMessage()}");
        }
        $responseFlxAccessToken = json_decode($response);
        $this->httpDebug($url, $oAuthParams, $this->lastStatus, $responseFlxAccessToken, null);
        //STORE TOKEN DATA IN SESSION
        $this->session->setFlxOauthToken(json_encode($responseFlxAccessToken));
        $this->session->setFlxAccessTokenCreatedTime(time());
        return $responseFlxAccessToken;
    }

    private int $lastStatus = 0;

    /** A new curl handle per request, as Magento's HTTP client does. */
    private function curlCall(string $url, array $params): string
    {
        $ch = curl_init();
        $options = [
            CURLOPT_URL => $url,
            CURLOPT_POST => true,
            CURLOPT_POSTFIELDS => http_build_query($params),
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_PROXY => '',
        ];
        if ($this->caFile !== null) {
            $options[CURLOPT_CAINFO] = $this->caFile;
        }
        curl_setopt_array($ch, $options);
        $body = curl_exec($ch);
        if ($body === false) {
            throw new \Exception(curl_error($ch));
        }
        $this->lastStatus = (int) curl_getinfo($ch, CURLINFO_HTTP_CODE);
        curl_close($ch);
        return $body;
    }

    private function httpDebug($url, $params, $status, $response, $error): void
    {
        // debug logging is off in production
    }
}

/**
 * The floor a PHP user can reach by hand: one curl handle kept for the whole process (the
 * connection stays open), the same form POST, json_decode. No session bookkeeping.
 */
final class KeptAliveCurl
{
    private \CurlHandle $ch;

    public function __construct(private string $url, private ?string $caFile = null)
    {
        $this->ch = curl_init();
    }

    public function refresh(string $refreshToken, string $clientId, string $clientSecret): string
    {
        $options = [
            CURLOPT_URL => $this->url,
            CURLOPT_POST => true,
            CURLOPT_POSTFIELDS => http_build_query([
                'grant_type' => 'refresh_token',
                'refresh_token' => $refreshToken,
                'client_id' => $clientId,
                'client_secret' => $clientSecret,
            ]),
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_PROXY => '',
        ];
        if ($this->caFile !== null) {
            $options[CURLOPT_CAINFO] = $this->caFile;
        }
        curl_setopt_array($this->ch, $options);
        $body = curl_exec($this->ch);
        if ($body === false) {
            throw new \Exception(curl_error($this->ch));
        }
        return json_decode($body)->access_token;
    }
}
