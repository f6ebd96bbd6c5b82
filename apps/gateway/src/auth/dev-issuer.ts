import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type JSONWebKeySet, type JWK, SignJWT } from 'jose';
import type { DataSource } from 'typeorm';
import { SigningKeyEntity } from '../database/entities.js';
import { type Environment, type Role } from './principal.js';

const ALG = 'ES256';

export interface TokenRequest {
  readonly subject: string;
  readonly roles: readonly Role[];
  /** Account ids the token is granted, or `*` for all. */
  readonly accounts: readonly string[];
  /** Environments the token is granted (claim `environments`); default `paper` only. */
  readonly environments?: readonly Environment[];
  readonly ttlSeconds: number;
}

/**
 * The development issuer (API.md "Dev default"): with no OIDC issuer configured, the gateway makes an
 * ES256 signing key on first start, kept in PostgreSQL so every instance and the `token` command share it.
 */
export class DevIssuer {
  private constructor(
    private readonly kid: string,
    private readonly privateKey: CryptoKey | Uint8Array,
    readonly jwks: JSONWebKeySet,
    private readonly issuer: string,
    private readonly audience: string,
  ) {}

  static async load(dataSource: DataSource, issuer: string, audience: string): Promise<DevIssuer> {
    const repo = dataSource.getRepository(SigningKeyEntity);
    let key = await repo.findOne({ where: { alg: ALG }, order: { createdAt: 'ASC' } });
    if (!key) {
      const pair = await generateKeyPair(ALG, { extractable: true });
      const kid = randomUUID();
      await repo
        .createQueryBuilder()
        .insert()
        .values({
          kid,
          alg: ALG,
          privateJwk: { ...(await exportJWK(pair.privateKey)), kid, alg: ALG },
          publicJwk: { ...(await exportJWK(pair.publicKey)), kid, alg: ALG, use: 'sig' },
          createdAt: new Date(),
        })
        .orIgnore()
        .execute();
      key = await repo.findOneOrFail({ where: { alg: ALG }, order: { createdAt: 'ASC' } });
    }
    const all = await repo.find({ where: { alg: ALG } });
    const privateKey = await importJWK(key.privateJwk as JWK, ALG);
    return new DevIssuer(key.kid, privateKey, { keys: all.map((k) => k.publicJwk as JWK) }, issuer, audience);
  }

  /** Signs an RFC 9068 access token (`typ: at+jwt`) with roles and account grants as claims. */
  async sign(request: TokenRequest): Promise<string> {
    return new SignJWT({
      roles: [...request.roles],
      accounts: [...request.accounts],
      environments: [...(request.environments ?? ['paper'])],
    })
      .setProtectedHeader({ alg: ALG, kid: this.kid, typ: 'at+jwt' })
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setSubject(request.subject)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(`${request.ttlSeconds}s`)
      .sign(this.privateKey);
  }
}
