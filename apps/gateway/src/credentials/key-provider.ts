import type { CredentialOwner } from './broker-secrets.js';

/** The key providers the gateway can wrap data keys with (KEY_PROVIDER). */
export type KeyProviderName = 'aws-kms' | 'local';

/**
 * The encryption context of an owner's data key and ciphertext: `{accountId, broker, environment}`, as
 * KMS takes it (a string map). KMS binds it into the wrapped data key (and the local provider does the
 * same), so a wrapped key moved to another owner does not unwrap.
 */
export type EncryptionContext = Readonly<Record<'accountId' | 'broker' | 'environment', string>>;

export function encryptionContextOf(owner: CredentialOwner): EncryptionContext {
  return { accountId: owner.accountId, broker: owner.broker, environment: owner.environment };
}

/**
 * The additional authenticated data of an encryption context: each entry's key then value, UTF-8, in key
 * order (how AWS KMS, moto and localstack bind a context into a GCM ciphertext).
 */
export function contextAad(context: EncryptionContext): Buffer {
  const entries = Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(entries.map(([k, v]) => `${k}${v}`).join(''), 'utf8');
}

/** A fresh 256-bit data key: its plaintext (zero it after use) and its wrapping under `keyId`. */
export interface DataKey {
  /** The key that wrapped it: a KMS key ARN, or a local master key id. */
  readonly keyId: string;
  readonly plaintext: Buffer;
  readonly wrapped: Buffer;
}

/** A data key wrapped under a key, as stored. */
export interface WrappedDataKey {
  readonly keyId: string;
  readonly wrapped: Buffer;
}

/**
 * Where the data keys of broker credentials come from and are unwrapped (envelope encryption): AWS KMS
 * (`aws-kms-key-provider.ts`) or a master key file of the deployment's own (`local-key-provider.ts`).
 * Every call takes the owner's encryption context, and unwrapping fails with `KeyProviderError` code
 * `InvalidCiphertextException` when it is not the one the key was wrapped for.
 */
export interface KeyProvider {
  readonly name: KeyProviderName;
  /** The key new data keys are wrapped under (as configured: KMS_KEY_ID may be an alias). */
  currentKeyId(): string;
  /** The canonical id of a key (a KMS key ARN for an id, ARN or alias), as stored with each row. */
  resolveKeyId(keyId: string): Promise<string>;
  /** A fresh data key wrapped under the current key for `context` (KMS `GenerateDataKey`). */
  generateDataKey(context: EncryptionContext): Promise<DataKey>;
  /** The plaintext of a wrapped data key (KMS `Decrypt`, checking the key id); zero it after use. */
  unwrap(key: WrappedDataKey, context: EncryptionContext): Promise<Buffer>;
  /** The same data key wrapped under `toKeyId` (KMS `ReEncrypt`, same context both sides). */
  rewrap(key: WrappedDataKey, context: EncryptionContext, toKeyId: string): Promise<WrappedDataKey>;
  close(): Promise<void>;
}

/**
 * A key provider's refusal or failure. `code` is KMS's error code (`InvalidCiphertextException`,
 * `IncorrectKeyException`, `DisabledException`, `KMSInvalidStateException`, `NotFoundException`,
 * `AccessDeniedException`...), which the local provider uses too; `KMSUnavailable` when KMS could not be
 * reached. The message never holds key material or a secret.
 */
export class KeyProviderError extends Error {
  override name = 'KeyProviderError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The codes that mean "this ciphertext does not open for this owner with these keys", not an outage. */
export const UNREADABLE_CODES: ReadonlySet<string> = new Set([
  'InvalidCiphertextException',
  'IncorrectKeyException',
  'DisabledException',
  'KMSInvalidStateException',
  'NotFoundException',
  'AccessDeniedException',
]);

export const KEY_PROVIDER = Symbol('KEY_PROVIDER');
