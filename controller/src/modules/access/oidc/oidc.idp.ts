/**
 * The OpenID Provider as seen through openid-client: discovery (cached briefly),
 * the authorization URL, and the code exchange with every check the library offers
 * (state, nonce, PKCE, issuer, audience, expiry, signature). The service never sees
 * openid-client's errors: they become an `OidcExchangeError` with a short reason.
 */
import * as client from 'openid-client';
import { isLoopbackHttp } from '../../../config.js';

export interface OidcIdpSettings {
  issuerUrl: string;
  clientId: string;
  clientSecret?: string;
  redirectUrl: string;
  scopes: string;
}

export type OidcFailureReason =
  | 'provider_unreachable'
  | 'code_rejected'
  | 'id_token_expired'
  | 'id_token_audience'
  | 'id_token_nonce'
  | 'id_token_issuer'
  | 'id_token_invalid'
  | 'response_invalid';

/** The provider answered, or failed to, in a way that ends this login attempt. */
export class OidcExchangeError extends Error {
  constructor(
    readonly reason: OidcFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'OidcExchangeError';
  }
}

/** Discovery failed: the provider is unreachable or its metadata is unusable. */
export class OidcUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OidcUnavailableError';
  }
}

export interface LoginChecks {
  state: string;
  nonce: string;
  codeVerifier: string;
}

export type Claims = Record<string, unknown> & { sub: string; iss: string };

const DISCOVERY_CACHE_MS = 60_000;
const REQUEST_TIMEOUT_SECONDS = 10;

export class OidcIdentityProvider {
  private discovered: { at: number; metadata: Promise<client.ServerMetadata> } | undefined;
  private jwksCache: client.ExportedJWKSCache | undefined;
  /** Plain HTTP only for a loopback issuer outside production (config validation enforces it). */
  private readonly insecure: boolean;

  constructor(
    private readonly settings: OidcIdpSettings,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.insecure = isLoopbackHttp(settings.issuerUrl);
  }

  /** The provider's discovery document, fetched at most once a minute. */
  async serverMetadata(): Promise<{ metadata: client.ServerMetadata; fetchedAt: Date }> {
    const at = this.now().getTime();
    if (!this.discovered || at - this.discovered.at > DISCOVERY_CACHE_MS || at < this.discovered.at) {
      const metadata = this.discover();
      this.discovered = { at, metadata };
      // A failed discovery is not cached: the next call tries again.
      metadata.catch(() => {
        if (this.discovered?.metadata === metadata) this.discovered = undefined;
      });
    }
    const { metadata, at: fetchedAt } = this.discovered;
    return { metadata: await metadata, fetchedAt: new Date(fetchedAt) };
  }

  private async discover(): Promise<client.ServerMetadata> {
    try {
      const config = await client.discovery(
        new URL(this.settings.issuerUrl),
        this.settings.clientId,
        undefined,
        undefined,
        {
          timeout: REQUEST_TIMEOUT_SECONDS,
          ...(this.insecure ? { execute: [client.allowInsecureRequests] } : {}),
        },
      );
      return config.serverMetadata();
    } catch (error) {
      throw new OidcUnavailableError(
        `The identity provider's discovery document could not be fetched: ${(error as Error).message}`,
      );
    }
  }

  /** A configuration for one request, its clock aligned with the injected one. */
  private async configuration(): Promise<client.Configuration> {
    const { metadata } = await this.serverMetadata();
    const secret = this.settings.clientSecret;
    // RFC 8414: absent the list, client_secret_basic is the default every server supports.
    const methods = metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
    const auth = !secret
      ? client.None()
      : methods.includes('client_secret_basic')
        ? client.ClientSecretBasic(secret)
        : client.ClientSecretPost(secret);
    const config = new client.Configuration(
      metadata,
      this.settings.clientId,
      {
        ...(secret ? { client_secret: secret } : {}),
        [client.clockSkew]: Math.round((this.now().getTime() - Date.now()) / 1000),
      },
      auth,
    );
    config.timeout = REQUEST_TIMEOUT_SECONDS;
    if (this.insecure) client.allowInsecureRequests(config);
    if (this.jwksCache) client.setJwksCache(config, this.jwksCache);
    return config;
  }

  /** Where to send the browser: Authorization Code with PKCE (S256), state and nonce. */
  async authorizationUrl(checks: LoginChecks): Promise<URL> {
    const config = await this.configuration();
    return client.buildAuthorizationUrl(config, {
      redirect_uri: this.settings.redirectUrl,
      scope: this.settings.scopes,
      response_type: 'code',
      state: checks.state,
      nonce: checks.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(checks.codeVerifier),
      code_challenge_method: 'S256',
    });
  }

  /**
   * Exchanges the code from the callback's query string and returns the verified
   * ID token claims, completed from the userinfo endpoint when there is one (many
   * providers put scope claims such as email and groups only there).
   */
  async exchangeCode(callbackQuery: URLSearchParams, checks: LoginChecks): Promise<Claims> {
    let config: client.Configuration;
    try {
      config = await this.configuration();
    } catch (error) {
      throw new OidcExchangeError('provider_unreachable', (error as Error).message);
    }
    // The configured redirect URL, not the request's Host header, names where we are.
    const currentUrl = new URL(this.settings.redirectUrl);
    currentUrl.search = callbackQuery.toString();
    try {
      const tokens = await client.authorizationCodeGrant(config, currentUrl, {
        pkceCodeVerifier: checks.codeVerifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      });
      const idClaims = tokens.claims();
      if (!idClaims) throw new OidcExchangeError('id_token_invalid', 'The provider returned no ID token.');
      let userinfo: Record<string, unknown> = {};
      if (config.serverMetadata().userinfo_endpoint && tokens.access_token) {
        userinfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
      }
      return { ...userinfo, ...idClaims } as Claims;
    } catch (error) {
      throw classify(error);
    } finally {
      this.jwksCache = client.getJwksCache(config) ?? this.jwksCache;
    }
  }
}

const TIMESTAMP_CHECK = 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED';
const CLAIM_COMPARISON = 'OAUTH_JWT_CLAIM_COMPARISON_FAILED';

function classify(error: unknown): OidcExchangeError {
  if (error instanceof OidcExchangeError) return error;
  if (error instanceof client.ResponseBodyError) {
    return new OidcExchangeError(
      'code_rejected',
      `The identity provider refused the code: ${error.error}${error.error_description ? ` (${error.error_description})` : ''}.`,
    );
  }
  if (error instanceof client.ClientError) {
    if (error.code === TIMESTAMP_CHECK) {
      return new OidcExchangeError('id_token_expired', 'The ID token has expired or is not yet valid.');
    }
    if (error.code === CLAIM_COMPARISON) {
      const claim = claimOf(error);
      if (claim === 'aud' || claim === 'azp')
        return new OidcExchangeError('id_token_audience', 'The ID token was issued to another client.');
      if (claim === 'nonce')
        return new OidcExchangeError('id_token_nonce', 'The ID token does not belong to this login.');
      if (claim === 'iss')
        return new OidcExchangeError('id_token_issuer', 'The ID token comes from another issuer.');
      return new OidcExchangeError('id_token_invalid', `The ID token failed a check (${claim ?? 'claim'}).`);
    }
    return new OidcExchangeError(
      'response_invalid',
      `The identity provider's answer failed checks: ${error.message}.`,
    );
  }
  if (error instanceof client.AuthorizationResponseError) {
    return new OidcExchangeError(
      'response_invalid',
      `The authorization response is an error: ${error.error}.`,
    );
  }
  // fetch failures (TypeError), timeouts (DOMException) and the like.
  return new OidcExchangeError(
    'provider_unreachable',
    `The identity provider could not be reached: ${(error as Error).message}`,
  );
}

/** openid-client wraps oauth4webapi's error, whose cause names the failing claim. */
function claimOf(error: Error): string | undefined {
  const inner = error.cause as { cause?: { claim?: unknown } } | undefined;
  const claim = inner?.cause?.claim;
  return typeof claim === 'string' ? claim : undefined;
}
