import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProtectedHeader, exportSPKI, generateKeyPair, importJWK, SignJWT } from 'jose';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { expectProblem, sleep } from '../support/e2e.js';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.js';
import { Api } from '../support/http.js';
import { type OidcServer, startOidcServer } from '../support/oidc-server.js';
import { StreamClient } from '../support/stream-client.js';

/**
 * The gateway as an OAuth2 resource server (API.md "Auth"; README, "Access tokens"): a real OIDC provider on localhost
 * issues JWT access tokens by client credentials; the gateway finds its JWKS by discovery, accepts its
 * tokens, refuses every forged, misdirected or stale one with 401 and counts it by reason, and follows
 * the provider's key rotation without a restart.
 */
const AUDIENCE = 'urn:execution-gateway:e2e';
const OTHER_API = 'urn:example:other-api';
const JWKS_COOLDOWN_MS = 300;

let oidc: OidcServer;
let db: TestDatabase;
let gw: GatewayProcess;

beforeAll(async () => {
  oidc = await startOidcServer(
    [AUDIENCE, OTHER_API],
    [
      { id: 'desk-bot', roles: ['trader'], accounts: ['*'] },
      { id: 'report-bot', scope: 'gateway:viewer', accounts: ['*'] },
    ],
  );
  db = await createTestDatabase();
  gw = await startGatewayProcess({
    DATABASE_URL: db.url,
    REDIS_PREFIX: redisPrefix(),
    AUTH_ISSUER: oidc.issuer,
    AUTH_AUDIENCE: AUDIENCE,
    AUTH_CLOCK_TOLERANCE_SECONDS: '5',
    AUTH_JWKS_COOLDOWN_MS: String(JWKS_COOLDOWN_MS),
  });
});

afterAll(async () => {
  await gw?.stop();
  await oidc?.close();
  await db?.drop();
});

/** `gateway_auth_failures_total` by reason, from GET /metrics. */
async function authFailures(): Promise<Record<string, number>> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const m of text.matchAll(/^gateway_auth_failures_total\{reason="(\w+)",environments="paper"\} (\d+)$/gm)) {
    counts[m[1]!] = Number(m[2]);
  }
  return counts;
}

const as = (token: string) => new Api(gw.url, token);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

describe('tokens of the OIDC provider', () => {
  it('a client-credentials access token works, with roles from a claim or from scopes', async () => {
    const token = await oidc.token('desk-bot');
    expect(decodeProtectedHeader(token)).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });

    const res = await as(token).get('/v1/accounts');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.map((a: { id: string }) => a.id)).toContain(gw.accountId);

    // Guards run before body validation: the trader gets past the role check (422), the viewer does not.
    const trader = await as(token).post(`/v1/accounts/${gw.accountId}/orders`, {});
    expectProblem(trader, 422, 'validation.failed');
    const viewerToken = await oidc.token('report-bot', { scope: 'gateway:viewer' });
    expect(JSON.parse(Buffer.from(viewerToken.split('.')[1]!, 'base64url').toString())).toMatchObject({
      scope: 'gateway:viewer',
    });
    expect((await as(viewerToken).get('/v1/accounts')).status).toBe(200);
    expectProblem(await as(viewerToken).post(`/v1/accounts/${gw.accountId}/orders`, {}), 403, 'auth.forbidden');
  });

  it('the WebSocket stream accepts the same tokens', async () => {
    const stream = await StreamClient.connect(gw.url);
    try {
      stream.send({ op: 'auth', token: await oidc.token('desk-bot') });
      await stream.waitFor((m) => m.type === 'authenticated');
    } finally {
      stream.socket.close();
    }
  });
});

describe('refused tokens', () => {
  it('forged, misdirected, stale and tampered tokens are refused with 401 and counted by reason', async () => {
    const valid = await oidc.token('desk-bot');
    const claims = JSON.parse(Buffer.from(valid.split('.')[1]!, 'base64url').toString());
    const fresh = { ...claims, iat: now(), exp: now() + 300 };
    const providerKey = oidc.publicKey();
    const publicPem = await exportSPKI((await importJWK(providerKey, 'ES256')) as CryptoKey);
    const stranger = await generateKeyPair('ES256');
    const [header, payload, signature] = valid.split('.');

    const cases: { name: string; reason: string; token: string }[] = [
      { name: 'alg none', reason: 'bad_algorithm', token: `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(fresh)}.` },
      {
        name: "HS256 keyed with the provider's public key",
        reason: 'bad_algorithm',
        token: await new SignJWT(fresh)
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: providerKey.kid })
          .sign(new TextEncoder().encode(publicPem)),
      },
      { name: 'wrong issuer', reason: 'bad_issuer', token: await oidc.sign({ ...fresh, iss: 'https://idp.example' }) },
      {
        name: "the gateway's dev-issuer token (its key is not trusted with an OIDC issuer)",
        reason: 'unknown_key',
        token: gw.traderToken,
      },
      { name: 'wrong audience', reason: 'bad_audience', token: await oidc.token('desk-bot', { resource: OTHER_API }) },
      {
        name: 'expired beyond the clock tolerance',
        reason: 'expired',
        token: await oidc.sign({ ...fresh, iat: now() - 600, exp: now() - 30 }),
      },
      {
        name: 'signed by an unknown key',
        reason: 'unknown_key',
        token: await new SignJWT(fresh)
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'not-the-providers' })
          .sign(stranger.privateKey),
      },
      {
        name: 'tampered payload',
        reason: 'bad_signature',
        token: `${header}.${b64({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), roles: ['admin'] })}.${signature}`,
      },
      { name: 'not an access token (typ)', reason: 'bad_type', token: await oidc.sign(fresh, { typ: 'logout+jwt' }) },
      { name: 'no subject', reason: 'missing_claims', token: await oidc.sign({ ...fresh, sub: undefined }) },
      { name: 'not a JWT', reason: 'malformed', token: 'not.a.jwt' },
    ];

    const before = await authFailures();
    expect(Object.keys(before)).toEqual(expect.arrayContaining(cases.map((c) => c.reason)));
    for (const c of cases) {
      const res = await as(c.token).get('/v1/accounts');
      expect(res.status, c.name).toBe(401);
      expectProblem(res, 401, 'auth.unauthenticated');
    }
    const after = await authFailures();
    const expected: Record<string, number> = {};
    for (const c of cases) {
      expected[c.reason] = (expected[c.reason] ?? 0) + 1;
    }
    for (const [reason, n] of Object.entries(expected)) {
      expect({ reason, increase: after[reason]! - before[reason]! }).toEqual({ reason, increase: n });
    }
    // The untouched token still works: each refusal above is down to the one thing changed.
    expect((await as(valid).get('/v1/accounts')).status).toBe(200);

    // Refusals are logged by reason, and no token (nor its signature) ever reaches the log.
    // (The log lines only: the start-up banner prints its dev token on purpose.)
    const log = gw
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .join('\n');
    expect(log).toMatch(/"reason":"bad_signature".*"msg":"access token refused"/);
    for (const c of cases) {
      const secretParts = [c.token, c.token.split('.')[2]].filter((p): p is string => !!p && p.length > 16);
      expect(
        secretParts.filter((p) => log.includes(p)),
        c.name,
      ).toEqual([]);
    }
  });
});

describe('key rotation', () => {
  it('a token signed with a newly published key is accepted without a restart; the old key still works', async () => {
    const oldToken = await oidc.token('desk-bot');
    expect((await as(oldToken).get('/v1/accounts')).status).toBe(200);
    const fetchesBefore = oidc.jwksFetches;

    const newKid = await oidc.rotateKey();
    const newToken = await oidc.token('desk-bot');
    expect(decodeProtectedHeader(newToken).kid).toBe(newKid);
    // An unknown kid makes the gateway fetch the JWKS again, at most once per cooldown.
    await sleep(JWKS_COOLDOWN_MS + 100);
    const res = await as(newToken).get('/v1/accounts');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(oidc.jwksFetches).toBe(fetchesBefore + 1);
    expect((await as(oldToken).get('/v1/accounts')).status).toBe(200);
    expect(gw.child.exitCode).toBeNull();
  });
});
