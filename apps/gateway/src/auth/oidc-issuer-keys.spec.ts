import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { AccessTokenCheck, type AuthFailureReason } from './access-token-check.js';
import { isTrustworthyUrl, OidcIssuerKeys, type OidcIssuerKeysOptions } from './oidc-issuer-keys.js';

/** An issuer speaking OIDC discovery and JWKS over HTTP, with what it serves and counts of what it was asked. */
interface FakeIssuer {
  readonly url: string;
  keys: JWK[];
  /** Overrides of the discovery document (e.g. another `issuer`). */
  discovery: Record<string, unknown>;
  status: number;
  readonly hits: { discovery: number; jwks: number };
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function fakeIssuer(): Promise<FakeIssuer> {
  const state = { keys: [] as JWK[], discovery: {}, status: 200, hits: { discovery: 0, jwks: 0 } };
  const server = createServer((req, res) => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (req.url === '/.well-known/openid-configuration') {
      state.hits.discovery += 1;
      res.writeHead(state.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer: url, jwks_uri: `${url}/jwks`, ...state.discovery }));
    } else if (req.url === '/jwks') {
      state.hits.jwks += 1;
      res.writeHead(state.status, { 'content-type': 'application/jwk-set+json' });
      res.end(JSON.stringify({ keys: state.keys }));
    } else {
      res.writeHead(404).end();
    }
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}

async function signingKey() {
  const pair = await generateKeyPair('ES256', { extractable: true });
  const kid = randomUUID();
  const publicJwk: JWK = { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig' };
  return {
    publicJwk,
    sign: (issuer: string) =>
      new SignJWT({ sub: 'desk-bot' })
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
        .setIssuer(issuer)
        .setAudience('execution-gateway')
        .setExpirationTime('5m')
        .sign(pair.privateKey),
  };
}

function checkFor(issuer: FakeIssuer, options: Partial<OidcIssuerKeysOptions> = {}) {
  const keys = new OidcIssuerKeys({
    issuer: issuer.url,
    jwksUrl: null,
    timeoutMs: 2_000,
    cooldownMs: 30_000,
    cacheMaxAgeMs: 600_000,
    ...options,
  });
  const check = new AccessTokenCheck(keys.getKey, {
    issuer: issuer.url,
    audience: 'execution-gateway',
    algorithms: ['ES256'],
    clockToleranceSeconds: 30,
  });
  return { keys, check };
}

async function outcome(check: AccessTokenCheck, token: string): Promise<AuthFailureReason | 'accepted'> {
  try {
    await check.verify(token);
    return 'accepted';
  } catch (error) {
    return (error as { reason: AuthFailureReason }).reason;
  }
}

describe('OidcIssuerKeys', () => {
  it('finds the JWKS by discovery once, and refetches it for an unknown kid at most once per cooldown', async () => {
    const issuer = await fakeIssuer();
    const first = await signingKey();
    issuer.keys = [first.publicJwk];
    const { check } = checkFor(issuer, { cooldownMs: 300 });
    expect(await outcome(check, await first.sign(issuer.url))).toBe('accepted');
    expect(issuer.hits).toEqual({ discovery: 1, jwks: 1 });

    // Rotation: within the cooldown the new kid is unknown and costs no fetch; after it, one fetch finds it.
    const second = await signingKey();
    issuer.keys = [second.publicJwk, first.publicJwk];
    const rotated = await second.sign(issuer.url);
    expect(await outcome(check, rotated)).toBe('unknown_key');
    expect(await outcome(check, rotated)).toBe('unknown_key');
    expect(issuer.hits.jwks).toBe(1);
    await new Promise((r) => setTimeout(r, 350));
    expect(await outcome(check, rotated)).toBe('accepted');
    expect(await outcome(check, await first.sign(issuer.url))).toBe('accepted');
    expect(issuer.hits).toEqual({ discovery: 1, jwks: 2 });
  });

  it('uses AUTH_JWKS_URL without discovery', async () => {
    const issuer = await fakeIssuer();
    const key = await signingKey();
    issuer.keys = [key.publicJwk];
    const { check } = checkFor(issuer, { jwksUrl: `${issuer.url}/jwks` });
    expect(await outcome(check, await key.sign(issuer.url))).toBe('accepted');
    expect(issuer.hits).toEqual({ discovery: 0, jwks: 1 });
  });

  it('refuses with issuer_unavailable when the issuer is down or its discovery is not trustworthy, and recovers', async () => {
    const issuer = await fakeIssuer();
    const key = await signingKey();
    issuer.keys = [key.publicJwk];
    const token = await key.sign(issuer.url);

    issuer.status = 503;
    const { check, keys } = checkFor(issuer);
    expect(await outcome(check, token)).toBe('issuer_unavailable');
    await expect(keys.warmUp()).rejects.toMatchObject({ reason: 'issuer_unavailable' });

    issuer.status = 200;
    issuer.discovery = { issuer: 'https://someone-else.example' };
    expect(await outcome(check, token)).toBe('issuer_unavailable');
    issuer.discovery = { jwks_uri: 'http://keys.example/jwks' };
    expect(await outcome(check, token)).toBe('issuer_unavailable');

    issuer.discovery = {};
    await expect(keys.warmUp()).resolves.toEqual({ jwksUri: `${issuer.url}/jwks`, keys: 1 });
    expect(await outcome(check, token)).toBe('accepted');

    // Once found, a JWKS that cannot be fetched again is the issuer's fault, not the token's.
    const fresh = checkFor(issuer, { jwksUrl: `${issuer.url}/jwks` });
    issuer.status = 500;
    expect(await outcome(fresh.check, token)).toBe('issuer_unavailable');
  });

  it('trusts https, and plain http to this machine only', () => {
    expect(isTrustworthyUrl('https://idp.example/realms/desk')).toBe(true);
    expect(isTrustworthyUrl('http://127.0.0.1:8080')).toBe(true);
    expect(isTrustworthyUrl('http://localhost:8080/')).toBe(true);
    expect(isTrustworthyUrl('http://[::1]:8080/')).toBe(true);
    expect(isTrustworthyUrl('http://idp.example')).toBe(false);
    expect(isTrustworthyUrl('urn:gateway:dev-issuer')).toBe(false);
    expect(isTrustworthyUrl('not a url')).toBe(false);
  });
});
