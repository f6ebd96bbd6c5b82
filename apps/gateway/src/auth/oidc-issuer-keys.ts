import { createRemoteJWKSet, errors, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { TokenRefused } from './access-token-check.js';

export interface OidcIssuerKeysOptions {
  /** The issuer identifier (AUTH_ISSUER), exactly as the tokens' `iss` says. */
  readonly issuer: string;
  /** Where the JWKS is (AUTH_JWKS_URL); null: the `jwks_uri` of the issuer's discovery document. */
  readonly jwksUrl: string | null;
  /** Longest wait for the discovery document or the JWKS, in ms. */
  readonly timeoutMs: number;
  /** Least time between two JWKS fetches caused by an unknown `kid`, in ms (jose `cooldownDuration`). */
  readonly cooldownMs: number;
  /** Age after which the JWKS is fetched again even when every `kid` is known, in ms (jose `cacheMaxAge`). */
  readonly cacheMaxAgeMs: number;
}

/** OpenID Connect Discovery 1.0 §3: the two members the resource server needs. */
const discoveryDocument = z.object({ issuer: z.string(), jwks_uri: z.string() });

/**
 * https, or plain http to this machine only: keys fetched over plain http from elsewhere could be
 * swapped by anyone on the path, and then any token would verify.
 */
export function isTrustworthyUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return (
    parsed.protocol === 'https:' ||
    (parsed.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname))
  );
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * The signing keys of an OAuth2/OIDC issuer as a jose key resolver. The JWKS address comes from
 * AUTH_JWKS_URL or from discovery (`{issuer}/.well-known/openid-configuration`, whose `issuer` must be
 * ours exactly, Discovery §4.3), found on first use and retried on the next token if that failed.
 * jose's remote JWKS caches the keys and fetches again on an unknown `kid` (key rotation), at most once
 * per cooldown, so tokens with made-up `kid`s cannot make the gateway hammer the issuer.
 * An issuer that cannot be reached refuses the token with `issuer_unavailable`.
 */
export class OidcIssuerKeys {
  private remote: ReturnType<typeof createRemoteJWKSet> | null = null;
  private remoteUrl: URL | null = null;
  private discovering: Promise<ReturnType<typeof createRemoteJWKSet>> | null = null;

  constructor(
    private readonly options: OidcIssuerKeysOptions,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const remote = await this.remoteKeys();
    try {
      return await remote(header, token);
    } catch (error) {
      // Token faults pass on to be classified; anything else is the issuer's (HTTP, JSON, key import).
      if (
        error instanceof errors.JWKSNoMatchingKey ||
        error instanceof errors.JWKSMultipleMatchingKeys ||
        error instanceof errors.JOSENotSupported
      ) {
        throw error;
      }
      throw new TokenRefused('issuer_unavailable', `the issuer's JWKS could not be fetched: ${describe(error)}`);
    }
  };

  /** Fetches the keys now (at start, so a misconfiguration shows in the log before the first request). */
  async warmUp(): Promise<{ jwksUri: string; keys: number }> {
    const remote = await this.remoteKeys();
    try {
      await remote.reload();
    } catch (error) {
      throw new TokenRefused('issuer_unavailable', `the issuer's JWKS could not be fetched: ${describe(error)}`);
    }
    return { jwksUri: this.remoteUrl?.href ?? '', keys: remote.jwks()?.keys.length ?? 0 };
  }

  private remoteKeys(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.remote) {
      return Promise.resolve(this.remote);
    }
    // One discovery at a time; a failed one is forgotten so the next token tries again.
    this.discovering ??= this.jwksUri()
      .then((url) => {
        this.remoteUrl = url;
        this.remote = createRemoteJWKSet(url, {
          timeoutDuration: this.options.timeoutMs,
          cooldownDuration: this.options.cooldownMs,
          cacheMaxAge: this.options.cacheMaxAgeMs,
        });
        return this.remote;
      })
      .finally(() => {
        this.discovering = null;
      });
    return this.discovering;
  }

  private async jwksUri(): Promise<URL> {
    if (this.options.jwksUrl) {
      return new URL(this.options.jwksUrl);
    }
    const where = `${this.options.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    let body: unknown;
    try {
      const res = await this.fetchImpl(where, {
        headers: { accept: 'application/json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      if (res.status !== 200) {
        throw new Error(`HTTP ${res.status}`);
      }
      body = await res.json();
    } catch (error) {
      throw new TokenRefused('issuer_unavailable', `OIDC discovery at ${where} failed: ${describe(error)}`);
    }
    const doc = discoveryDocument.safeParse(body);
    if (!doc.success) {
      throw new TokenRefused('issuer_unavailable', `OIDC discovery at ${where} has no issuer or jwks_uri`);
    }
    if (doc.data.issuer !== this.options.issuer) {
      throw new TokenRefused(
        'issuer_unavailable',
        `OIDC discovery at ${where} names issuer ${JSON.stringify(doc.data.issuer)}, not AUTH_ISSUER`,
      );
    }
    if (!isTrustworthyUrl(doc.data.jwks_uri)) {
      throw new TokenRefused('issuer_unavailable', `OIDC discovery at ${where} has a jwks_uri that is not https`);
    }
    return new URL(doc.data.jwks_uri);
  }
}
