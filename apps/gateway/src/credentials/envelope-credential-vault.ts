import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { BrokerCredentialRepository } from './broker-credential.repository.js';
import {
  type BrokerSecrets,
  type CredentialOwner,
  type CredentialSummary,
  type CredentialVault,
  CredentialUnreadableError,
} from './broker-secrets.js';
import {
  contextAad,
  encryptionContextOf,
  KEY_PROVIDER,
  type KeyProvider,
  KeyProviderError,
  UNREADABLE_CODES,
} from './key-provider.js';

const IV_LENGTH = 12;

/** The code of a credential this deployment will not decrypt: its owner's environment is not served here. */
export const ENVIRONMENT_NOT_SERVED = 'credentials.environment_not_served';
/** The code of a credential wrapped by another key provider than the configured one (KEY_PROVIDER changed). */
export const KEY_PROVIDER_MISMATCH = 'credentials.key_provider_mismatch';

/**
 * The credential vault (port: broker-secrets.ts) by envelope encryption: each `store` takes a fresh
 * 256-bit data key from the key provider (KMS `GenerateDataKey` with the owner's encryption context
 * `{accountId, broker, environment}`), encrypts the secrets' JSON under it with AES-256-GCM (a random
 * 96-bit IV, the same context as AAD) and keeps only the wrapped data key beside the ciphertext. `load`
 * unwraps with the caller's owner as the context, so a row copied to another account, or whose
 * environment or broker was changed, fails at KMS (`InvalidCiphertextException`) before any secret is
 * decrypted. Plaintext data keys and the secrets' JSON bytes are zeroed as soon as they are used (the
 * decoded strings themselves cannot be: JavaScript strings are immutable, and live as long as the caller
 * keeps them).
 *
 * A deployment whose GATEWAY_ENVIRONMENTS lacks an owner's environment neither stores nor decrypts its
 * credential, and asks the key provider nothing for it.
 */
@Injectable()
export class EnvelopeCredentialVault implements CredentialVault {
  constructor(
    private readonly credentials: BrokerCredentialRepository,
    @Inject(KEY_PROVIDER) private readonly keys: KeyProvider,
    @Inject(GATEWAY_CONFIG) private readonly config: Pick<GatewayConfig, 'environments'>,
  ) {}

  async store(owner: CredentialOwner, secrets: BrokerSecrets): Promise<void> {
    this.assertServed(owner.accountId, owner.environment);
    const context = encryptionContextOf(owner);
    const dataKey = await this.keys.generateDataKey(context);
    const plaintext = Buffer.from(JSON.stringify(secrets), 'utf8');
    try {
      const iv = randomBytes(IV_LENGTH);
      const cipher = createCipheriv('aes-256-gcm', dataKey.plaintext, iv);
      cipher.setAAD(contextAad(context));
      const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      await this.credentials.put({
        ...owner,
        kind: secrets.kind,
        keyProvider: this.keys.name,
        keyId: dataKey.keyId,
        wrappedKey: dataKey.wrapped,
        iv,
        authTag: cipher.getAuthTag(),
        ciphertext,
        accessExpiresAt: secrets.kind === 'oauth' ? secrets.accessExpiresAt : null,
        refreshExpiresAt: secrets.kind === 'oauth' ? secrets.refreshExpiresAt : null,
      });
    } finally {
      dataKey.plaintext.fill(0);
      plaintext.fill(0);
    }
  }

  async load(owner: CredentialOwner): Promise<BrokerSecrets | null> {
    this.assertServed(owner.accountId, owner.environment);
    const stored = await this.credentials.find(owner.accountId);
    if (stored === null) {
      return null;
    }
    // The row's own environment too: a live credential is never opened here, whatever the caller says.
    this.assertServed(owner.accountId, stored.environment);
    if (stored.keyProvider !== this.keys.name) {
      throw new CredentialUnreadableError(
        owner.accountId,
        KEY_PROVIDER_MISMATCH,
        `the broker credential of account ${owner.accountId} is wrapped by the ${stored.keyProvider} key provider, ` +
          `not by ${this.keys.name} (KEY_PROVIDER): store it again`,
      );
    }
    const context = encryptionContextOf(owner);
    let dataKey: Buffer;
    try {
      dataKey = await this.keys.unwrap({ keyId: stored.keyId, wrapped: stored.wrappedKey }, context);
    } catch (error) {
      if (error instanceof KeyProviderError && UNREADABLE_CODES.has(error.code)) {
        throw this.unreadable(owner.accountId, error.code);
      }
      throw error;
    }
    let plaintext: Buffer | null = null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', dataKey, stored.iv);
      decipher.setAAD(contextAad(context));
      decipher.setAuthTag(stored.authTag);
      plaintext = Buffer.concat([decipher.update(stored.ciphertext), decipher.final()]);
      const secrets = JSON.parse(plaintext.toString('utf8')) as BrokerSecrets;
      if (secrets.kind !== stored.kind) {
        throw new Error('kind');
      }
      return secrets;
    } catch {
      // A data key that opens but a ciphertext that does not: the ciphertext columns were changed.
      throw this.unreadable(owner.accountId, 'InvalidCiphertextException');
    } finally {
      dataKey.fill(0);
      plaintext?.fill(0);
    }
  }

  forget(accountId: string): Promise<boolean> {
    return this.credentials.delete(accountId);
  }

  list(): Promise<CredentialSummary[]> {
    return this.credentials.list();
  }

  private unreadable(accountId: string, code: string): CredentialUnreadableError {
    return new CredentialUnreadableError(
      accountId,
      code,
      `the broker credential of account ${accountId} cannot be decrypted (${code}): it was not stored for this ` +
        'account and environment, or its key is disabled or gone; store it again',
    );
  }

  private assertServed(accountId: string, environment: string): void {
    if (!(this.config.environments as readonly string[]).includes(environment)) {
      throw new CredentialUnreadableError(
        accountId,
        ENVIRONMENT_NOT_SERVED,
        `account ${accountId} is a ${environment} account, which this deployment does not serve (GATEWAY_ENVIRONMENTS): ` +
          'its broker credential is not decrypted here',
      );
    }
  }
}
