import { randomBytes } from 'node:crypto';
import type { Request } from 'express';
import OAuth2Strategy from 'passport-oauth2';
import type { OAuthBroker, OAuthClientConfig } from '../config/config.js';

/** What a token endpoint handed out. Times are epoch milliseconds. */
export interface TokenSet {
  readonly accessToken: string;
  /** Null when the broker issues none (Alpaca OAuth, PROTOCOLS.md B4). */
  readonly refreshToken: string | null;
  /** Null without `expires_in` (Alpaca OAuth). */
  readonly accessExpiresAt: number | null;
  /** From `refresh_token_expires_in` when given, else the broker's documented lifetime; null: not stated. */
  readonly refreshExpiresAt: number | null;
}

/**
 * A token endpoint's refusal or failure, without anything of the request (no code, token or secret):
 * `permanent` when the grant is dead (a new login is the only way on), else it may pass (retry).
 * `code` is the OAuth `error` (`invalid_grant`...), or `http_<status>` / `network` / `timeout`.
 */
export class TokenEndpointError extends Error {
  override name = 'TokenEndpointError';
  constructor(
    readonly code: string,
    readonly permanent: boolean,
    readonly status: number | null,
  ) {
    super(`token endpoint: ${code}${status === null ? '' : ` (HTTP ${status})`}`);
  }
}

/** A refresh token the broker answers with one of these is dead for good (PROTOCOLS.md A1, B4; RFC 6749 5.2). */
const DEAD_GRANT = /refresh_token_authentication_error|unsupported_token_type|invalid_grant|invalid_client/;

/** The refresh-token lifetime a broker documents, when its token answer does not say (Schwab: 7 days). */
const REFRESH_LIFETIME_SECONDS: Record<OAuthBroker, number | null> = { schwab: 604_800, alpaca: null };

/** Schwab takes the client credentials in a Basic header only (PROTOCOLS.md A1); Alpaca in the form (B4). */
const BASIC_AUTH: Record<OAuthBroker, boolean> = { schwab: true, alpaca: false };

const TOKEN_TIMEOUT_MS = 10_000;

/** Where the strategy's synthetic request carries the pending authorization's verifier on the callback. */
const VERIFIER = Symbol('pkce-verifier');
/** Where `store` leaves the state and verifier it made for the authorize URL. */
const MADE = Symbol('made-authorization');

type StrategyRequest = Request & { [VERIFIER]?: string | null; [MADE]?: { state: string; verifier: string | null } };

/**
 * passport-oauth2's state store, without a session: `store` makes the `state` (32 random bytes) and keeps it
 * and the PKCE verifier on the request for the caller to persist (hashed and encrypted, in PostgreSQL);
 * `verify` hands back the verifier of the pending authorization the caller has already found and consumed
 * by its `state`, so the strategy sends it with the code.
 */
class PendingAuthorizationStore {
  store(
    req: StrategyRequest,
    verifier: string | undefined,
    _state: unknown,
    _meta: unknown,
    done: (err: Error | null, state?: string) => void,
  ): void {
    const state = randomBytes(32).toString('base64url');
    req[MADE] = { state, verifier: verifier ?? null };
    done(null, state);
  }

  verify(
    req: StrategyRequest,
    _state: string,
    _meta: unknown,
    done: (err: Error | null, ok: string | boolean, info?: unknown) => void,
  ): void {
    const verifier = req[VERIFIER];
    done(null, typeof verifier === 'string' ? verifier : true, {});
  }
}

/** The strategy with its `oauth` client reachable (passport-oauth2 calls `_oauth2` protected, for subclasses). */
class BrokerOAuth2Strategy extends OAuth2Strategy {
  get client() {
    return this._oauth2;
  }
}

/** One run of the strategy: passport's `redirect`/`success`/`fail`/`error` actions, as a promise. */
type Outcome =
  | { kind: 'redirect'; location: string }
  | { kind: 'success'; user: unknown }
  | { kind: 'fail'; info: unknown }
  | { kind: 'error'; error: unknown };

/**
 * One broker's OAuth2 authorization-code client, built on passport-oauth2's `OAuth2Strategy` (used without
 * passport itself): the strategy builds the authorize URL (with `state`, and PKCE S256 where configured) and
 * exchanges the code; its `oauth` client refreshes. Schwab's client credentials go in a Basic header and are
 * left out of the form, so the secret is sent once.
 */
export class BrokerOAuthClient {
  private readonly strategy: BrokerOAuth2Strategy;

  constructor(
    readonly broker: OAuthBroker,
    readonly config: OAuthClientConfig,
    private readonly now: () => number,
  ) {
    const basic = BASIC_AUTH[broker];
    this.strategy = new BrokerOAuth2Strategy(
      {
        authorizationURL: config.authorizeUrl,
        tokenURL: config.tokenUrl,
        clientID: config.clientId,
        clientSecret: config.clientSecret,
        callbackURL: config.redirectUri,
        pkce: config.pkce,
        state: true,
        store: new PendingAuthorizationStore() as unknown as OAuth2Strategy.StateStore,
        skipUserProfile: true,
        ...(config.scope === null ? {} : { scope: config.scope }),
        ...(basic
          ? {
              customHeaders: {
                Authorization: `Basic ${Buffer.from(`${config.clientId}:${config.clientSecret}`).toString('base64')}`,
              },
            }
          : {}),
      },
      (
        accessToken: string,
        refreshToken: string | undefined,
        params: Record<string, unknown>,
        _profile: unknown,
        done: OAuth2Strategy.VerifyCallback,
      ) => done(null, this.tokenSet(accessToken, refreshToken, params, null)),
    );
    if (basic) {
      const client = this.strategy.client as unknown as {
        _request(method: string, url: string, headers: unknown, body: unknown, token: unknown, cb: unknown): void;
      };
      const send = client._request.bind(client);
      client._request = (method, url, headers, body, token, cb) =>
        send(method, url, headers, typeof body === 'string' ? withoutClientCredentials(body) : body, token, cb);
    }
  }

  /**
   * The broker's authorize URL for a new authorization, with its `state` and PKCE verifier (null without
   * PKCE) for the caller to keep. `redirectUri`: the gateway's callback the code is sent back to.
   */
  async authorization(redirectUri: string): Promise<{ url: string; state: string; verifier: string | null }> {
    const req = syntheticRequest({});
    const outcome = await this.run(req, { callbackURL: redirectUri });
    const made = req[MADE];
    if (outcome.kind !== 'redirect' || !made) {
      throw new Error(`the OAuth strategy did not build an authorize URL (${outcome.kind})`);
    }
    return { url: outcome.location, state: made.state, verifier: made.verifier };
  }

  /**
   * Exchanges an authorization code (once) for tokens; `redirectUri` and `verifier` are those of the
   * authorization the code answers. Throws TokenEndpointError.
   */
  async exchange(code: string, state: string, redirectUri: string, verifier: string | null): Promise<TokenSet> {
    const req = syntheticRequest({ code, state });
    req[VERIFIER] = verifier;
    const outcome = await withTimeout(this.run(req, { callbackURL: redirectUri }));
    switch (outcome.kind) {
      case 'success':
        return outcome.user as TokenSet;
      case 'error':
        throw endpointError(outcome.error);
      case 'fail':
      case 'redirect':
        throw new TokenEndpointError('exchange_refused', true, null);
    }
  }

  /**
   * Refreshes with `refreshToken` (grant `refresh_token`); the new refresh token when the broker rotates
   * it (Schwab does), else the one given. `refreshExpiresAt`: the expiry to keep when the answer states none
   * (Schwab's seven days run from the login, not from the refresh). Throws TokenEndpointError.
   */
  async refresh(refreshToken: string, refreshExpiresAt: number | null): Promise<TokenSet> {
    const answer = await withTimeout(
      new Promise<{ access: string; refresh: string | undefined; params: Record<string, unknown> }>((resolve, reject) =>
        this.strategy.client.getOAuthAccessToken(
          refreshToken,
          { grant_type: 'refresh_token' },
          (err, access, refresh, params: Record<string, unknown> | undefined) =>
            err || !access ? reject(endpointError(err ?? null)) : resolve({ access, refresh, params: params ?? {} }),
        ),
      ),
    );
    return this.tokenSet(answer.access, answer.refresh ?? refreshToken, answer.params, refreshExpiresAt);
  }

  /**
   * Revokes `token` at the broker's RFC 7009 endpoint, where one is configured; false when there is none.
   * Throws TokenEndpointError when the broker refuses or cannot be reached.
   */
  async revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<boolean> {
    if (this.config.revokeUrl === null) {
      return false;
    }
    const form = new URLSearchParams({ token, token_type_hint: hint });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (BASIC_AUTH[this.broker]) {
      headers['authorization'] =
        `Basic ${Buffer.from(`${this.config.clientId}:${this.config.clientSecret}`).toString('base64')}`;
    } else {
      form.set('client_id', this.config.clientId);
      form.set('client_secret', this.config.clientSecret);
    }
    let res: Response;
    try {
      res = await fetch(this.config.revokeUrl, {
        method: 'POST',
        headers,
        body: form,
        signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
      });
    } catch {
      throw new TokenEndpointError('network', false, null);
    }
    if (!res.ok) {
      throw new TokenEndpointError(`http_${res.status}`, false, res.status);
    }
    return true;
  }

  private tokenSet(
    accessToken: string,
    refreshToken: string | undefined | null,
    params: Record<string, unknown>,
    keepRefreshExpiresAt: number | null,
  ): TokenSet {
    const now = this.now();
    const seconds = (v: unknown) => {
      const n = typeof v === 'string' ? Number(v) : v;
      return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : null;
    };
    const accessIn = seconds(params['expires_in']);
    const refreshIn = seconds(params['refresh_token_expires_in']);
    const refresh = refreshToken ?? null;
    const documented = REFRESH_LIFETIME_SECONDS[this.broker];
    return {
      accessToken,
      refreshToken: refresh,
      accessExpiresAt: accessIn === null ? null : now + accessIn * 1000,
      refreshExpiresAt:
        refresh === null
          ? null
          : refreshIn !== null
            ? now + refreshIn * 1000
            : (keepRefreshExpiresAt ?? (documented === null ? null : now + documented * 1000)),
    };
  }

  private run(req: StrategyRequest, options: Record<string, unknown>): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      // passport's way of running a strategy: a per-request object inheriting from it, given the actions.
      const run = Object.create(this.strategy) as OAuth2Strategy & Record<string, unknown>;
      run['redirect'] = (location: string) => resolve({ kind: 'redirect', location });
      run['success'] = (user: unknown) => resolve({ kind: 'success', user });
      run['fail'] = (info: unknown) => resolve({ kind: 'fail', info });
      run['error'] = (error: unknown) => resolve({ kind: 'error', error });
      run['pass'] = () => resolve({ kind: 'fail', info: null });
      run.authenticate(req, options);
    });
  }
}

function syntheticRequest(query: Record<string, string>): StrategyRequest {
  return { query, body: {}, headers: {} } as unknown as StrategyRequest;
}

function withoutClientCredentials(body: string): string {
  const form = new URLSearchParams(body);
  form.delete('client_id');
  form.delete('client_secret');
  return form.toString();
}

function withTimeout<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new TokenEndpointError('timeout', false, null)), TOKEN_TIMEOUT_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A TokenEndpointError from what passport-oauth2 or its `oauth` client reported: an `InternalOAuthError`
 * or `TokenError` wrapping `{ statusCode, data }`, or a network error. Only the OAuth `error` code is kept.
 */
function endpointError(err: unknown): TokenEndpointError {
  if (err instanceof TokenEndpointError) {
    return err;
  }
  const e = err as { statusCode?: unknown; data?: unknown; oauthError?: unknown; code?: unknown } | null;
  const wrapped = e?.oauthError as { statusCode?: unknown; data?: unknown } | undefined;
  const inner = wrapped ?? e;
  const status = typeof inner?.statusCode === 'number' ? inner.statusCode : null;
  if (status === null) {
    // A TokenError (passport-oauth2 parsed the body) carries the OAuth error as `code`.
    if (typeof e?.code === 'string' && /^[a-z_]+$/.test(e.code) && e.code !== 'server_error') {
      return new TokenEndpointError(e.code, DEAD_GRANT.test(e.code), null);
    }
    return new TokenEndpointError('network', false, null);
  }
  const data = typeof inner?.data === 'string' ? inner.data : '';
  let code = `http_${status}`;
  try {
    const parsed = JSON.parse(data) as { error?: unknown };
    if (typeof parsed.error === 'string' && /^[a-z_]{1,64}$/.test(parsed.error)) {
      code = parsed.error;
    }
  } catch {
    // not JSON: the status says it
  }
  const permanent = status >= 400 && status < 500 && status !== 429 && DEAD_GRANT.test(data);
  return new TokenEndpointError(code, permanent, status);
}
