import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A fake OAuth2 authorization server of one broker, faithful to the wire facts of
 * ../shared/brokers/PROTOCOLS.md (A1 Schwab, B4 Alpaca), for tests: the real client library (passport-oauth2
 * and its `oauth` client) drives it. Everything lives in this process's memory.
 *
 * - Schwab (A1): `GET /v1/oauth/authorize`, `POST /v1/oauth/token` with the client credentials in an
 *   `Authorization: Basic base64(client_id:client_secret)` header, form bodies, answers
 *   `{expires_in:1800, token_type:"Bearer", scope:"api", refresh_token, access_token, id_token}`; the access
 *   token lives 1800 s, the refresh token 604800 s from the login (rotating it does not extend that), refresh
 *   tokens rotate (the old one is dead once a new one is issued). A dead refresh token answers HTTP 400
 *   `{"error":"unsupported_token_type","error_description":"400 Bad Request: \"{…\"error\":\"refresh_token_authentication_error\"}\""}`
 *   (or, with `deadRefreshAnswer: 'invalid_client'`, the `invalid_client: refresh token invalid` schwab-py shows).
 *   Codes contain `@` (as Schwab's do), so a callback that does not URL-decode them fails.
 * - Alpaca (B4): `GET /oauth/authorize`, `POST /oauth/token` with `client_id` and `client_secret` in the
 *   form, answering `{access_token, token_type:"bearer", scope}`: no `expires_in`, no refresh token.
 * - Both: the authorize endpoint approves at once (no login page) and redirects to `redirect_uri` with
 *   `code` and `state`; codes are single-use and live `codeTtlSeconds` (30 s: Schwabdev #61, unverified);
 *   PKCE S256 when `pkce` is on (then a request without `code_challenge` is refused); an optional RFC 7009
 *   revocation endpoint (`revocation: true`, `POST <token path without /token>/revoke`).
 * Switches for tests: `advance(ms)` moves the server's clock; `revokeRefreshTokens()` kills every refresh
 * token; `setDown(true)` answers 503 on the token endpoint; `setLifetimes()` shortens what is issued next.
 */

export type FakeOAuthBroker = 'schwab' | 'alpaca';

export interface FakeOAuthOptions {
  readonly broker: FakeOAuthBroker;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The base time (epoch ms) the server's clock advances from; default Date.now. */
  readonly clock?: { now(): number };
  /** Require PKCE S256 on authorize and a matching `code_verifier` on the code exchange. */
  readonly pkce?: boolean;
  /** Offer an RFC 7009 revocation endpoint. */
  readonly revocation?: boolean;
  /** How a dead Schwab refresh token is answered (default the `unsupported_token_type` body). */
  readonly deadRefreshAnswer?: 'unsupported_token_type' | 'invalid_client';
  readonly codeTtlSeconds?: number;
  readonly accessTtlSeconds?: number;
  readonly refreshTtlSeconds?: number;
}

/** A token request as the server saw it (no secret: the grant and how the client authenticated). */
export interface TokenRequestRecord {
  readonly at: number;
  readonly grantType: string;
  readonly clientAuth: 'basic' | 'form' | 'none';
  readonly status: number;
  /** Form field names sent (values left out). */
  readonly fields: readonly string[];
}

export interface FakeOAuthServer {
  readonly url: string;
  readonly authorizeUrl: string;
  readonly tokenUrl: string;
  /** Null unless `revocation` is on. */
  readonly revokeUrl: string | null;
  /** The server's clock (epoch ms). */
  now(): number;
  advance(ms: number): void;
  revokeRefreshTokens(): void;
  setDown(down: boolean): void;
  setLifetimes(l: { accessTtlSeconds?: number; refreshTtlSeconds?: number }): void;
  /** Every secret the server handed out (codes, access, refresh and id tokens), for leak scans. */
  issuedSecrets(): string[];
  /** Access tokens still valid now (the broker's API would accept them). */
  isAccessTokenValid(token: string): boolean;
  readonly tokenRequests: readonly TokenRequestRecord[];
  close(): Promise<void>;
}

interface CodeGrant {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly challenge: string | null;
  readonly expiresAt: number;
  used: boolean;
}

interface RefreshGrant {
  readonly expiresAt: number;
  alive: boolean;
}

const PATHS: Record<FakeOAuthBroker, { authorize: string; token: string; revoke: string }> = {
  schwab: { authorize: '/v1/oauth/authorize', token: '/v1/oauth/token', revoke: '/v1/oauth/revoke' },
  alpaca: { authorize: '/oauth/authorize', token: '/oauth/token', revoke: '/oauth/revoke' },
};

const SCHWAB_DEAD_REFRESH = {
  error: 'unsupported_token_type',
  error_description:
    '400 Bad Request: "{"error_description":"Exception while authenticating refresh token [' +
    'Token is invalid or expired], exception:","error":"refresh_token_authentication_error"}"',
};

const token = (prefix: string) => `${prefix}${randomBytes(24).toString('base64url')}`;
const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** The client id and secret of an `Authorization: Basic` header (RFC 6749 2.3.1: each form-urlencoded). */
function basicCredentials(header: string | undefined): { id: string; secret: string } | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!m) {
    return null;
  }
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) {
    return null;
  }
  return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
}

/** Starts the fake authorization server on a free port of 127.0.0.1. */
export async function startFakeOAuthServer(options: FakeOAuthOptions): Promise<FakeOAuthServer> {
  const paths = PATHS[options.broker];
  const base = options.clock ?? { now: () => Date.now() };
  let offset = 0;
  const now = () => base.now() + offset;
  let down = false;
  const codeTtl = (options.codeTtlSeconds ?? 30) * 1000;
  let accessTtl = options.accessTtlSeconds ?? 1800;
  let refreshTtl = options.refreshTtlSeconds ?? 604_800;
  const codes = new Map<string, CodeGrant>();
  const refreshTokens = new Map<string, RefreshGrant>();
  const accessTokens = new Map<string, number>();
  const secrets: string[] = [];
  const tokenRequests: TokenRequestRecord[] = [];

  const issue = (refreshExpiresAt: number | null) => {
    const access = token(options.broker === 'schwab' ? 'I0.' : 'alp_at_');
    secrets.push(access);
    if (options.broker === 'alpaca') {
      accessTokens.set(access, Number.POSITIVE_INFINITY);
      return { access_token: access, token_type: 'bearer', scope: 'account:write trading' };
    }
    accessTokens.set(access, now() + accessTtl * 1000);
    const refresh = token('R0.');
    const id = token('eyJ.');
    secrets.push(refresh, id);
    refreshTokens.set(refresh, { expiresAt: refreshExpiresAt ?? now() + refreshTtl * 1000, alive: true });
    return {
      expires_in: accessTtl,
      token_type: 'Bearer',
      scope: 'api',
      refresh_token: refresh,
      access_token: access,
      id_token: id,
    };
  };

  const authorize = (url: URL, res: ServerResponse) => {
    const q = url.searchParams;
    const redirectUri = q.get('redirect_uri');
    if (q.get('client_id') !== options.clientId || !redirectUri) {
      send(res, 400, { error: 'invalid_request', error_description: 'unknown client_id or no redirect_uri' });
      return;
    }
    const back = new URL(redirectUri);
    const state = q.get('state');
    if (state !== null) {
      back.searchParams.set('state', state);
    }
    const challenge = q.get('code_challenge');
    if (q.get('response_type') !== 'code') {
      back.searchParams.set('error', 'unsupported_response_type');
    } else if (options.pkce && (challenge === null || q.get('code_challenge_method') !== 'S256')) {
      back.searchParams.set('error', 'invalid_request');
      back.searchParams.set('error_description', 'PKCE S256 code_challenge required');
    } else {
      // Schwab's codes end in `@` (and carry `.`): the redirect URL-encodes them, the callback must decode.
      const code = options.broker === 'schwab' ? `C0.${randomBytes(24).toString('base64url')}@` : token('alp_c_');
      secrets.push(code);
      codes.set(code, {
        clientId: options.clientId,
        redirectUri,
        challenge: options.pkce ? challenge : null,
        expiresAt: now() + codeTtl,
        used: false,
      });
      back.searchParams.set('code', code);
    }
    res.writeHead(302, { location: back.toString() });
    res.end();
  };

  const clientOf = (req: IncomingMessage, form: URLSearchParams) => {
    if (options.broker === 'schwab') {
      const basic = basicCredentials(req.headers.authorization);
      return { auth: basic ? ('basic' as const) : ('none' as const), creds: basic };
    }
    const id = form.get('client_id');
    const secret = form.get('client_secret');
    return id !== null && secret !== null
      ? { auth: 'form' as const, creds: { id, secret } }
      : { auth: 'none' as const, creds: null };
  };

  const tokenEndpoint = async (req: IncomingMessage, res: ServerResponse) => {
    const form = await readForm(req);
    const grantType = form.get('grant_type') ?? '';
    const { auth, creds } = clientOf(req, form);
    const answer = (status: number, body: unknown) => {
      tokenRequests.push({ at: now(), grantType, clientAuth: auth, status, fields: [...form.keys()] });
      send(res, status, body);
    };
    if (down) {
      answer(503, { error: 'temporarily_unavailable' });
      return;
    }
    if (
      creds === null ||
      !sameSecret(creds.id, options.clientId) ||
      !sameSecret(creds.secret, options.clientSecret) ||
      !(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
    ) {
      answer(401, { error: 'invalid_client', error_description: 'client authentication failed' });
      return;
    }
    if (grantType === 'authorization_code') {
      const code = form.get('code') ?? '';
      const grant = codes.get(code);
      if (!grant || grant.used || grant.expiresAt <= now() || grant.redirectUri !== form.get('redirect_uri')) {
        if (grant) {
          grant.used = true;
        }
        answer(400, { error: 'invalid_grant', error_description: 'authorization code invalid or expired' });
        return;
      }
      grant.used = true;
      if (grant.challenge !== null && s256(form.get('code_verifier') ?? '') !== grant.challenge) {
        answer(400, { error: 'invalid_grant', error_description: 'code_verifier does not match' });
        return;
      }
      answer(200, issue(null));
      return;
    }
    if (grantType === 'refresh_token' && options.broker === 'schwab') {
      const presented = form.get('refresh_token') ?? '';
      const grant = refreshTokens.get(presented);
      if (!grant || !grant.alive || grant.expiresAt <= now()) {
        if (options.deadRefreshAnswer === 'invalid_client') {
          answer(401, { error: 'invalid_client', error_description: 'refresh token invalid' });
        } else {
          answer(400, SCHWAB_DEAD_REFRESH);
        }
        return;
      }
      // Rotation: the presented token dies; the new one keeps the login's seven days.
      grant.alive = false;
      answer(200, issue(grant.expiresAt));
      return;
    }
    answer(400, { error: 'unsupported_grant_type' });
  };

  const revokeEndpoint = async (req: IncomingMessage, res: ServerResponse) => {
    const form = await readForm(req);
    const { creds } = clientOf(req, form);
    if (creds === null || !sameSecret(creds.id, options.clientId) || !sameSecret(creds.secret, options.clientSecret)) {
      send(res, 401, { error: 'invalid_client' });
      return;
    }
    const t = form.get('token') ?? '';
    const refresh = refreshTokens.get(t);
    if (refresh) {
      refresh.alive = false;
    }
    accessTokens.delete(t);
    res.writeHead(200);
    res.end();
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const route = `${req.method} ${url.pathname}`;
    const handle = async () => {
      if (route === `GET ${paths.authorize}`) {
        authorize(url, res);
      } else if (route === `POST ${paths.token}`) {
        await tokenEndpoint(req, res);
      } else if (options.revocation && route === `POST ${paths.revoke}`) {
        await revokeEndpoint(req, res);
      } else {
        send(res, 404, { error: 'not_found' });
      }
    };
    handle().catch(() => send(res, 500, { error: 'server_error' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    authorizeUrl: `${url}${paths.authorize}`,
    tokenUrl: `${url}${paths.token}`,
    revokeUrl: options.revocation ? `${url}${paths.revoke}` : null,
    now,
    advance: (ms) => {
      offset += ms;
    },
    revokeRefreshTokens: () => {
      for (const grant of refreshTokens.values()) {
        grant.alive = false;
      }
    },
    setDown: (d) => {
      down = d;
    },
    setLifetimes: (l) => {
      accessTtl = l.accessTtlSeconds ?? accessTtl;
      refreshTtl = l.refreshTtlSeconds ?? refreshTtl;
    },
    issuedSecrets: () => [...secrets],
    isAccessTokenValid: (t) => (accessTokens.get(t) ?? 0) > now(),
    tokenRequests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
