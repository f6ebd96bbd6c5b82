import { createLocalJWKSet } from 'jose';
import type { Logger } from 'pino';
import { ApiError } from '../common/api-error.js';
import { ConfigError, type GatewayConfig } from '../config/config.js';
import { AccessTokenCheck, AUTH_FAILURE_REASONS, type AuthFailureReason, TokenRefused } from './access-token-check.js';
import { type ClaimMapping, principalFromClaims } from './access-token-claims.js';
import type { DevIssuer } from './dev-issuer.js';
import { isTrustworthyUrl, OidcIssuerKeys } from './oidc-issuer-keys.js';
import type { Principal } from './principal.js';

/** AUTH_ISSUER of the quick start: the gateway's own dev issuer (API.md "Dev default"), no OIDC provider. */
export const DEV_ISSUER = 'urn:gateway:dev-issuer';

/** Where refused tokens are counted (`gateway_auth_failures_total{reason}`). */
export interface AuthFailureCounter {
  inc(labels: { reason: AuthFailureReason }, value?: number): void;
}

/**
 * Turns a bearer token into a Principal, for the HTTP guard and the WebSocket `auth` message. Verifies
 * with the dev issuer's own keys (AUTH_ISSUER `urn:gateway:dev-issuer`) or an OAuth2/OIDC issuer's JWKS
 * (any other AUTH_ISSUER). Every refusal is counted by reason and logged without the token; it answers
 * 401 `auth.unauthenticated`, or 503 when the issuer's keys cannot be fetched.
 */
export class TokenVerifier {
  private failures: AuthFailureCounter | null = null;

  constructor(
    private readonly check: AccessTokenCheck,
    private readonly claims: ClaimMapping,
    private readonly logger: Logger,
  ) {}

  /**
   * The verifier AUTH_* configure: the dev issuer's keys when AUTH_ISSUER is the dev issuer, else the
   * OIDC issuer's, whose keys it starts fetching now (the outcome is logged). Throws ConfigError when
   * the keys' address (AUTH_JWKS_URL, or AUTH_ISSUER for discovery) is not https (plain http only to
   * this machine).
   */
  static create(auth: GatewayConfig['auth'], devIssuer: DevIssuer, logger: Logger): TokenVerifier {
    const policy = {
      issuer: auth.issuer,
      audience: auth.audience,
      clockToleranceSeconds: auth.clockToleranceSeconds,
    };
    if (auth.issuer === DEV_ISSUER) {
      // The dev issuer signs with its own algorithm and puts roles in `roles`, whatever AUTH_* says.
      const algorithms = [...new Set(devIssuer.jwks.keys.map((k) => k.alg ?? 'ES256'))];
      return new TokenVerifier(
        new AccessTokenCheck(createLocalJWKSet(devIssuer.jwks), { ...policy, algorithms }),
        { rolesClaim: 'roles', roleScopePrefix: null },
        logger,
      );
    }
    // The keys come from AUTH_JWKS_URL, or by discovery from AUTH_ISSUER (then it must be a URL too).
    const [name, url] = auth.jwksUrl ? ['AUTH_JWKS_URL', auth.jwksUrl] : ['AUTH_ISSUER', auth.issuer];
    if (!isTrustworthyUrl(url)) {
      throw new ConfigError(
        `${name} must be an https URL (plain http only to localhost), or AUTH_ISSUER ${DEV_ISSUER} for the dev issuer`,
      );
    }
    const keys = new OidcIssuerKeys({
      issuer: auth.issuer,
      jwksUrl: auth.jwksUrl,
      timeoutMs: auth.httpTimeoutMs,
      cooldownMs: auth.jwksCooldownMs,
      cacheMaxAgeMs: auth.jwksCacheMaxAgeMs,
    });
    keys.warmUp().then(
      (found) => logger.info({ issuer: auth.issuer, ...found }, 'OIDC issuer keys loaded'),
      (error: unknown) =>
        logger.warn(
          { issuer: auth.issuer, detail: error instanceof TokenRefused ? error.detail : String(error) },
          'OIDC issuer keys not loaded yet; tokens are refused until they are',
        ),
    );
    return new TokenVerifier(
      new AccessTokenCheck(keys.getKey, { ...policy, algorithms: auth.algorithms }),
      { rolesClaim: auth.rolesClaim, roleScopePrefix: auth.roleScopePrefix },
      logger,
    );
  }

  /** Counts refusals in `counter` from now on, every reason starting at 0 so alerts see the series. */
  countFailuresIn(counter: AuthFailureCounter): void {
    for (const reason of AUTH_FAILURE_REASONS) {
      counter.inc({ reason }, 0);
    }
    this.failures = counter;
  }

  /** The caller of a valid token; throws ApiError 401 (or 503, issuer unreachable) otherwise. */
  async verify(token: string): Promise<Principal> {
    try {
      return principalFromClaims(await this.check.verify(token), this.claims);
    } catch (error) {
      const refused =
        error instanceof TokenRefused
          ? error
          : new TokenRefused('malformed', `unexpected ${error instanceof Error ? error.name : typeof error}`);
      this.failures?.inc({ reason: refused.reason });
      this.logger.warn({ reason: refused.reason, detail: refused.detail }, 'access token refused');
      if (refused.reason === 'issuer_unavailable') {
        throw ApiError.unavailable('The access token cannot be verified now: its issuer is not reachable.');
      }
      // Only expiry is worth telling apart: the client should fetch a new token, not give up.
      throw ApiError.unauthenticated(
        refused.reason === 'expired' ? 'The access token has expired.' : 'The access token is invalid.',
      );
    }
  }
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  const match = header ? /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header) : null;
  return match?.[1] ?? null;
}
