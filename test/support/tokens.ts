import { randomUUID } from 'node:crypto';
import { generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import type { DataSource } from 'typeorm';

/** The dev issuer's defaults (config.ts AUTH_ISSUER, AUTH_AUDIENCE). */
export const DEV_ISSUER = 'urn:gateway:dev-issuer';
export const DEV_AUDIENCE = 'execution-gateway';

export interface TokenShape {
  sub?: string;
  roles?: string[];
  accounts?: string[];
  /** The `environments` claim; absent: the claim is left out (the gateway then grants `paper` only). */
  environments?: string[];
  issuer?: string;
  audience?: string;
  /** Expiry as epoch seconds (may be in the past). Default: one hour from now. */
  exp?: number;
}

async function sign(key: CryptoKey | Uint8Array, kid: string, t: TokenShape): Promise<string> {
  return new SignJWT({
    roles: t.roles ?? ['trader'],
    accounts: t.accounts ?? ['*'],
    ...(t.environments ? { environments: t.environments } : {}),
  })
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
    .setIssuer(t.issuer ?? DEV_ISSUER)
    .setAudience(t.audience ?? DEV_AUDIENCE)
    .setSubject(t.sub ?? 'e2e')
    .setIssuedAt()
    .setJti(randomUUID())
    .setExpirationTime(t.exp ?? Math.floor(Date.now() / 1000) + 3600)
    .sign(key);
}

/**
 * A token signed with the gateway's own dev signing key (read from the test database), for shapes the
 * token CLI cannot make: expired, wrong issuer or audience.
 */
export async function signWithDevKey(db: DataSource, t: TokenShape): Promise<string> {
  const rows: { kid: string; private_jwk: JWK }[] = await db.query(
    `SELECT kid, private_jwk FROM signing_keys WHERE alg = 'ES256' ORDER BY created_at ASC LIMIT 1`,
  );
  const row = rows[0];
  if (!row) {
    throw new Error('no dev signing key yet: start the gateway first');
  }
  return sign(await importJWK(row.private_jwk, 'ES256'), row.kid, t);
}

/** A well-formed token signed by a key the gateway has never seen. */
export async function foreignToken(t: TokenShape = {}): Promise<string> {
  const pair = await generateKeyPair('ES256');
  return sign(pair.privateKey, randomUUID(), t);
}

/** An unsigned token (`alg: none`), which must never be accepted. */
export function unsignedToken(t: TokenShape = {}): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({
    iss: t.issuer ?? DEV_ISSUER,
    aud: t.audience ?? DEV_AUDIENCE,
    sub: t.sub ?? 'e2e',
    roles: t.roles ?? ['admin', 'trader'],
    accounts: t.accounts ?? ['*'],
    iat: now,
    exp: now + 3600,
  })}.`;
}
