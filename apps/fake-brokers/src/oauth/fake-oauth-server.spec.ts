import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeOAuthOptions, type FakeOAuthServer, startFakeOAuthServer } from './fake-oauth-server.js';

const REDIRECT = 'https://gateway.example/v1/oauth/schwab/callback';
const VERIFIER = 'v'.repeat(43);
const CHALLENGE = createHash('sha256').update(VERIFIER).digest('base64url');
let server: FakeOAuthServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(o: Partial<FakeOAuthOptions> = {}): Promise<FakeOAuthServer> {
  server = await startFakeOAuthServer({ broker: 'schwab', clientId: 'app-key', clientSecret: 'app-secret', ...o });
  return server;
}

/** Follows the authorize endpoint's redirect and answers the query it sent back. */
async function authorize(s: FakeOAuthServer, extra: Record<string, string> = {}): Promise<URLSearchParams> {
  const q = new URLSearchParams({
    client_id: 'app-key',
    redirect_uri: REDIRECT,
    response_type: 'code',
    state: 'st-1',
    ...extra,
  });
  const res = await fetch(`${s.authorizeUrl}?${q}`, { redirect: 'manual' });
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location')!);
  expect(location.origin + location.pathname).toBe(REDIRECT);
  return location.searchParams;
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function tokenCall(s: FakeOAuthServer, form: Record<string, string>, auth = basic('app-key', 'app-secret')) {
  const res = await fetch(s.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(auth ? { authorization: auth } : {}) },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('fake Schwab authorization server (PROTOCOLS.md A1)', () => {
  it('approves, redirects with code and state, and exchanges the code once for 1800 s / 7 day tokens', async () => {
    const s = await start();
    const back = await authorize(s);
    expect(back.get('state')).toBe('st-1');
    const code = back.get('code')!;
    expect(code.endsWith('@')).toBe(true);
    const first = await tokenCall(s, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ expires_in: 1800, token_type: 'Bearer', scope: 'api' });
    expect(Object.keys(first.body).sort()).toEqual(
      ['access_token', 'expires_in', 'id_token', 'refresh_token', 'scope', 'token_type'].sort(),
    );
    expect(s.isAccessTokenValid(first.body.access_token as string)).toBe(true);
    s.advance(1800_000);
    expect(s.isAccessTokenValid(first.body.access_token as string)).toBe(false);
    const again = await tokenCall(s, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    expect(again).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('refuses a code after 30 s, a wrong redirect_uri, and client credentials outside the Basic header', async () => {
    const s = await start();
    const late = (await authorize(s)).get('code')!;
    s.advance(30_001);
    expect((await tokenCall(s, { grant_type: 'authorization_code', code: late, redirect_uri: REDIRECT })).status).toBe(
      400,
    );
    const code = (await authorize(s)).get('code')!;
    const wrong = await tokenCall(s, { grant_type: 'authorization_code', code, redirect_uri: 'https://evil/cb' });
    expect(wrong.body.error).toBe('invalid_grant');
    const form = await tokenCall(
      s,
      { grant_type: 'authorization_code', code, client_id: 'app-key', client_secret: 'app-secret' },
      '',
    );
    expect(form).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    const badSecret = await tokenCall(s, { grant_type: 'authorization_code', code }, basic('app-key', 'nope'));
    expect(badSecret.status).toBe(401);
  });

  it('rotates refresh tokens within the login seven days, then answers the dead-token body', async () => {
    const s = await start();
    const code = (await authorize(s)).get('code')!;
    const login = (await tokenCall(s, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT })).body;
    const r1 = login.refresh_token as string;
    const next = await tokenCall(s, { grant_type: 'refresh_token', refresh_token: r1 });
    expect(next.status).toBe(200);
    expect(next.body.refresh_token).not.toBe(r1);
    const old = await tokenCall(s, { grant_type: 'refresh_token', refresh_token: r1 });
    expect(old.status).toBe(400);
    expect(old.body.error).toBe('unsupported_token_type');
    expect(String(old.body.error_description)).toContain('refresh_token_authentication_error');
    s.advance(604_800_000);
    const expired = await tokenCall(s, {
      grant_type: 'refresh_token',
      refresh_token: next.body.refresh_token as string,
    });
    expect(expired.body.error).toBe('unsupported_token_type');
  });

  it('has switches: revoke every refresh token, the invalid_client answer, down, shorter lifetimes', async () => {
    const s = await start({ deadRefreshAnswer: 'invalid_client', accessTtlSeconds: 60 });
    const code = (await authorize(s)).get('code')!;
    const login = (await tokenCall(s, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT })).body;
    expect(login.expires_in).toBe(60);
    s.setDown(true);
    expect(
      (await tokenCall(s, { grant_type: 'refresh_token', refresh_token: login.refresh_token as string })).status,
    ).toBe(503);
    s.setDown(false);
    s.revokeRefreshTokens();
    const dead = await tokenCall(s, { grant_type: 'refresh_token', refresh_token: login.refresh_token as string });
    expect(dead).toMatchObject({
      status: 401,
      body: { error: 'invalid_client', error_description: 'refresh token invalid' },
    });
    expect(s.tokenRequests.map((r) => [r.grantType, r.clientAuth, r.status])).toEqual([
      ['authorization_code', 'basic', 200],
      ['refresh_token', 'basic', 503],
      ['refresh_token', 'basic', 401],
    ]);
  });

  it('requires PKCE S256 when on, and checks the verifier', async () => {
    const s = await start({ pkce: true });
    expect((await authorize(s)).get('error')).toBe('invalid_request');
    const code = (await authorize(s, { code_challenge: CHALLENGE, code_challenge_method: 'S256' })).get('code')!;
    const wrong = await tokenCall(s, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      code_verifier: 'w'.repeat(43),
    });
    expect(wrong.body.error).toBe('invalid_grant');
    const code2 = (await authorize(s, { code_challenge: CHALLENGE, code_challenge_method: 'S256' })).get('code')!;
    const right = await tokenCall(s, {
      grant_type: 'authorization_code',
      code: code2,
      redirect_uri: REDIRECT,
      code_verifier: VERIFIER,
    });
    expect(right.status).toBe(200);
  });
});

describe('fake Alpaca authorization server (PROTOCOLS.md B4)', () => {
  it('takes the client credentials in the form and answers no expires_in and no refresh token', async () => {
    const s = await start({ broker: 'alpaca', clientId: 'app-key', clientSecret: 'app-secret' });
    expect(s.authorizeUrl.endsWith('/oauth/authorize')).toBe(true);
    const code = (await authorize(s)).get('code')!;
    const basicOnly = await tokenCall(s, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    expect(basicOnly.status).toBe(401);
    const code2 = (await authorize(s)).get('code')!;
    const ok = await tokenCall(
      s,
      {
        grant_type: 'authorization_code',
        code: code2,
        redirect_uri: REDIRECT,
        client_id: 'app-key',
        client_secret: 'app-secret',
      },
      '',
    );
    expect(ok.status).toBe(200);
    expect(Object.keys(ok.body).sort()).toEqual(['access_token', 'scope', 'token_type']);
    expect(ok.body.token_type).toBe('bearer');
  });
});
