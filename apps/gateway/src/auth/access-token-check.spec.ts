import { randomUUID } from 'node:crypto';
import {
  createLocalJWKSet,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  SignJWT,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { AccessTokenCheck, type AccessTokenPolicy, type AuthFailureReason } from './access-token-check.js';

const ISSUER = 'https://idp.example/realms/desk';
const AUDIENCE = 'execution-gateway';
const POLICY: AccessTokenPolicy = {
  issuer: ISSUER,
  audience: AUDIENCE,
  algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
  clockToleranceSeconds: 30,
};

interface Signer {
  readonly alg: string;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

async function signer(alg: string): Promise<Signer> {
  const pair = await generateKeyPair(alg, { extractable: true });
  const kid = randomUUID();
  return {
    alg,
    kid,
    privateKey: pair.privateKey,
    publicJwk: { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' },
  };
}

const now = () => Math.floor(Date.now() / 1000);
const base = (): JWTPayload => ({ iss: ISSUER, aud: AUDIENCE, sub: 'desk-bot', iat: now(), exp: now() + 300 });

function sign(
  s: Signer,
  claims: JWTPayload = base(),
  header: Record<string, unknown> = {},
  key: CryptoKey | Uint8Array = s.privateKey,
) {
  return new SignJWT(claims).setProtectedHeader({ alg: s.alg, kid: s.kid, typ: 'at+jwt', ...header }).sign(key);
}

async function refusal(check: AccessTokenCheck, token: string): Promise<AuthFailureReason | 'accepted'> {
  try {
    await check.verify(token);
    return 'accepted';
  } catch (error) {
    return (error as { reason: AuthFailureReason }).reason;
  }
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

let es: Signer;
let rs: Signer;
let ps: Signer;
let ed: Signer;
let keys: JWTVerifyGetKey;
let check: AccessTokenCheck;

beforeAll(async () => {
  [es, rs, ps, ed] = await Promise.all([signer('ES256'), signer('RS256'), signer('PS256'), signer('EdDSA')]);
  keys = createLocalJWKSet({ keys: [es, rs, ps, ed].map((s) => s.publicJwk) });
  check = new AccessTokenCheck(keys, POLICY);
});

describe('AccessTokenCheck', () => {
  it('accepts each default algorithm and returns the claims', async () => {
    for (const s of [es, rs, ps, ed]) {
      await expect(check.verify(await sign(s)), s.alg).resolves.toMatchObject({ sub: 'desk-bot', iss: ISSUER });
    }
  });

  it('accepts typ at+jwt (RFC 9068), application/at+jwt, JWT and none; refuses other types', async () => {
    const table: [unknown, AuthFailureReason | 'accepted'][] = [
      ['at+jwt', 'accepted'],
      ['application/at+jwt', 'accepted'],
      ['AT+JWT', 'accepted'],
      ['JWT', 'accepted'],
      [undefined, 'accepted'],
      ['logout+jwt', 'bad_type'],
      ['dpop+jwt', 'bad_type'],
      [42, 'bad_type'],
    ];
    for (const [typ, outcome] of table) {
      expect(await refusal(check, await sign(es, base(), { typ })), String(typ)).toBe(outcome);
    }
  });

  it('refuses alg none, HS256 keyed with the public key, and algorithms not allowed', async () => {
    const unsigned = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(base())}.`;
    const pem = await exportSPKI((await generateKeyPair('RS256', { extractable: true })).publicKey);
    const rsPem = new TextEncoder().encode(pem);
    const hs = await sign({ ...rs, alg: 'HS256' }, base(), {}, rsPem);
    const hsWithJwk = await sign(
      { ...es, alg: 'HS256' },
      base(),
      {},
      new TextEncoder().encode(JSON.stringify(es.publicJwk)),
    );
    const es384 = await signer('ES384');
    const rsOnly = new AccessTokenCheck(keys, { ...POLICY, algorithms: ['RS256'] });
    expect(await refusal(check, unsigned)).toBe('bad_algorithm');
    expect(await refusal(check, hs)).toBe('bad_algorithm');
    expect(await refusal(check, hsWithJwk)).toBe('bad_algorithm');
    expect(await refusal(check, await sign(es384))).toBe('bad_algorithm');
    expect(await refusal(rsOnly, await sign(es))).toBe('bad_algorithm');
  });

  it('cannot be configured with a symmetric algorithm or none', () => {
    for (const algorithms of [['HS256'], ['RS256', 'none'], []]) {
      expect(() => new AccessTokenCheck(keys, { ...POLICY, algorithms }), algorithms.join()).toThrow(TypeError);
    }
  });

  it('checks iss exactly, aud, exp and nbf within the tolerance, and the required claims', async () => {
    const table: [string, JWTPayload, AuthFailureReason | 'accepted'][] = [
      ['aud among several', { ...base(), aud: ['other', AUDIENCE] }, 'accepted'],
      ['iss with a trailing slash', { ...base(), iss: `${ISSUER}/` }, 'bad_issuer'],
      ['another issuer', { ...base(), iss: 'https://evil.example' }, 'bad_issuer'],
      ['another audience', { ...base(), aud: 'other-api' }, 'bad_audience'],
      ['expired within the tolerance', { ...base(), exp: now() - 20 }, 'accepted'],
      ['expired beyond the tolerance', { ...base(), exp: now() - 40 }, 'expired'],
      ['nbf within the tolerance', { ...base(), nbf: now() + 20 }, 'accepted'],
      ['nbf beyond the tolerance', { ...base(), nbf: now() + 60 }, 'not_yet_valid'],
      ['no sub', { ...base(), sub: undefined }, 'missing_claims'],
      ['no exp', { ...base(), exp: undefined }, 'missing_claims'],
      ['no aud', { ...base(), aud: undefined }, 'missing_claims'],
      ['no iss', { ...base(), iss: undefined }, 'missing_claims'],
      ['exp not a number', { ...base(), exp: 'tomorrow' as unknown as number }, 'invalid_claims'],
    ];
    for (const [name, claims, outcome] of table) {
      expect(await refusal(check, await sign(es, claims)), name).toBe(outcome);
    }
  });

  it('refuses an unknown key, a tampered payload or header, and garbage', async () => {
    const stranger = await signer('ES256');
    const token = await sign(es);
    const [header, payload, signature] = token.split('.');
    const tampered = `${header}.${b64({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: 'admin' })}.${signature}`;
    const otherKid = `${b64({ alg: 'ES256', kid: rs.kid, typ: 'at+jwt' })}.${payload}.${signature}`;
    expect(await refusal(check, await sign(stranger))).toBe('unknown_key');
    expect(await refusal(check, tampered)).toBe('bad_signature');
    expect(await refusal(check, otherKid)).toBe('unknown_key'); // an RSA key is no candidate for ES256
    expect(await refusal(check, 'not-a-jwt')).toBe('malformed');
    expect(await refusal(check, `${Buffer.from('{"alg":').toString('base64url')}.${payload}.${signature}`)).toBe(
      'malformed',
    );
  });

  it('without a kid tries every key of the algorithm', async () => {
    const second = await signer('ES256');
    const twoEs = new AccessTokenCheck(createLocalJWKSet({ keys: [es.publicJwk, second.publicJwk] }), POLICY);
    const noKid = (s: Signer) =>
      new SignJWT(base()).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' }).sign(s.privateKey);
    await expect(twoEs.verify(await noKid(second))).resolves.toMatchObject({ sub: 'desk-bot' });
    expect(await refusal(twoEs, await noKid(await signer('ES256')))).toBe('bad_signature');
  });
});
