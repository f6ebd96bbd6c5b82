import { Writable } from 'node:stream';
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWTVerifyGetKey, SignJWT } from 'jose';
import { pino } from 'pino';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../common/api-error.js';
import { ConfigError, loadConfig } from '../config/config.js';
import { AccessTokenCheck, AUTH_FAILURE_REASONS, TokenRefused } from './access-token-check.js';
import type { DevIssuer } from './dev-issuer.js';
import { TokenVerifier } from './token-verifier.js';

const ISSUER = 'https://idp.example';

async function setup(getKey?: JWTVerifyGetKey) {
  const pair = await generateKeyPair('ES256');
  const keys =
    getKey ?? createLocalJWKSet({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' }] });
  let log = '';
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        log += chunk.toString();
        done();
      },
    }),
  );
  const registry = new Registry();
  const counter = new Counter({ name: 'failures', help: 'h', labelNames: ['reason'], registers: [registry] });
  const verifier = new TokenVerifier(
    new AccessTokenCheck(keys, { issuer: ISSUER, audience: 'gw', algorithms: ['ES256'], clockToleranceSeconds: 30 }),
    { rolesClaim: 'roles', roleScopePrefix: 'gateway:' },
    logger,
  );
  verifier.countFailuresIn(counter);
  const sign = (claims: Record<string, unknown>, exp = '5m') =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience('gw')
      .setSubject('desk-bot')
      .setExpirationTime(exp)
      .sign(pair.privateKey);
  const counts = async () =>
    Object.fromEntries((await counter.get()).values.map((v) => [String(v.labels.reason), v.value]));
  return { verifier, sign, counts, log: () => log };
}

async function apiError(work: Promise<unknown>): Promise<ApiError> {
  try {
    await work;
  } catch (error) {
    if (error instanceof ApiError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('TokenVerifier', () => {
  it('makes a Principal of a valid token', async () => {
    const { verifier, sign } = await setup();
    const principal = await verifier.verify(
      await sign({ roles: ['trader'], scope: 'gateway:viewer', accounts: ['*'] }),
    );
    expect(principal.subject).toBe('desk-bot');
    expect([...principal.roles].sort()).toEqual(['trader', 'viewer']);
    expect(principal.accounts).toBe('*');
  });

  it('answers 401, counts the reason (every reason starting at 0) and logs it without the token', async () => {
    const { verifier, sign, counts, log } = await setup();
    expect(Object.keys(await counts()).sort()).toEqual([...AUTH_FAILURE_REASONS].sort());
    const expired = await sign({ roles: ['trader'] }, '-10m');
    const error = await apiError(verifier.verify(expired));
    expect({ status: error.status, code: error.code }).toEqual({ status: 401, code: 'auth.unauthenticated' });
    expect(error.detail).toBe('The access token has expired.');
    const tampered = `${expired.split('.')[0]}.${expired.split('.')[1]}x.${expired.split('.')[2]}`;
    expect((await apiError(verifier.verify(tampered))).status).toBe(401);
    expect(await counts()).toMatchObject({ expired: 1, bad_signature: 1, malformed: 0 });
    expect(log()).toContain('"reason":"expired"');
    expect(log()).not.toContain(expired.split('.')[2]);
    expect(log()).not.toContain(expired.split('.')[1]);
  });

  it('answers 503 when the issuer cannot be reached, counted as issuer_unavailable', async () => {
    const down: JWTVerifyGetKey = () => Promise.reject(new TokenRefused('issuer_unavailable', 'JWKS: HTTP 502'));
    const { verifier, sign, counts } = await setup(down);
    const error = await apiError(verifier.verify(await sign({})));
    expect({ status: error.status, code: error.code }).toEqual({ status: 503, code: 'service.unavailable' });
    expect(await counts()).toMatchObject({ issuer_unavailable: 1 });
  });
});

describe('TokenVerifier.create', () => {
  it('refuses to fetch keys of an OIDC issuer over plain http from elsewhere', () => {
    const create = (env: Record<string, string>) => () =>
      TokenVerifier.create(loadConfig(env).auth, null as unknown as DevIssuer, pino({ level: 'silent' }));
    expect(create({ AUTH_ISSUER: 'http://idp.example/realms/desk' })).toThrow(ConfigError);
    expect(create({ AUTH_ISSUER: 'desk-idp' })).toThrow(/AUTH_ISSUER must be an https URL/);
    expect(create({ AUTH_ISSUER: 'desk-idp', AUTH_JWKS_URL: 'http://idp.example/jwks' })).toThrow(
      /AUTH_JWKS_URL must be an https URL/,
    );
    expect(() => loadConfig({ AUTH_ALGORITHMS: 'RS256,HS256' })).toThrow(/AUTH_ALGORITHMS/);
    expect(() => loadConfig({ AUTH_ALGORITHMS: 'none' })).toThrow(ConfigError);
  });
});
