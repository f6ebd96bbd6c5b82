import {
  DecryptCommand,
  DescribeKeyCommand,
  GenerateDataKeyCommand,
  KMSClient,
  KMSServiceException,
  ReEncryptCommand,
} from '@aws-sdk/client-kms';
import type { DataKey, EncryptionContext, KeyProvider, WrappedDataKey } from './key-provider.js';
import { KeyProviderError } from './key-provider.js';

/** How to reach AWS KMS: the key new data keys go under, and optionally the region and an endpoint override. */
export interface AwsKmsOptions {
  /** A key id, key ARN, alias (`alias/gateway-credentials`) or alias ARN. */
  readonly keyId: string;
  /** Unset: the SDK's own lookup (AWS_REGION, the profile). */
  readonly region: string | null;
  /** Unset: the region's KMS endpoint. Set for a VPC endpoint, localstack, or the tests' fake KMS. */
  readonly endpoint: string | null;
}

/** The SDK's error as ours: KMS's code and message (which name keys, never a plaintext), or an outage. */
function translate(error: unknown): KeyProviderError {
  if (error instanceof KMSServiceException) {
    return new KeyProviderError(
      error.name,
      `AWS KMS answered ${error.name}${error.message ? `: ${error.message}` : ''}`,
    );
  }
  return new KeyProviderError('KMSUnavailable', `AWS KMS could not be reached: ${(error as Error).message}`);
}

async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw translate(error);
  }
}

/**
 * Data keys from AWS KMS (`@aws-sdk/client-kms`): `GenerateDataKey` (AES_256) under the configured key
 * with the owner's encryption context, `Decrypt` naming the key the row says (so a blob of another key
 * fails with `IncorrectKeyException`), `ReEncrypt` for rotation, the plaintext never leaving KMS. AWS
 * credentials come from the SDK's default chain (environment, profile, instance or task role); the key
 * policy should grant the gateway's principal kms:GenerateDataKey, kms:Decrypt, kms:ReEncrypt* and
 * kms:DescribeKey on the key only.
 */
export class AwsKmsKeyProvider implements KeyProvider {
  readonly name = 'aws-kms' as const;
  constructor(
    private readonly options: AwsKmsOptions,
    private readonly client: KMSClient = new KMSClient({
      ...(options.region !== null ? { region: options.region } : {}),
      ...(options.endpoint !== null ? { endpoint: options.endpoint } : {}),
    }),
  ) {}

  currentKeyId(): string {
    return this.options.keyId;
  }

  /**
   * The key's ARN (DescribeKey): rows name keys by ARN, as KMS answers them. Asked each time, never
   * cached: an alias moved to a new key (UpdateAlias) must resolve to that key at the next rotation.
   */
  async resolveKeyId(keyId: string): Promise<string> {
    const { KeyMetadata } = await call(() => this.client.send(new DescribeKeyCommand({ KeyId: keyId })));
    const arn = KeyMetadata?.Arn;
    if (arn === undefined) {
      throw new KeyProviderError('NotFoundException', `AWS KMS described ${keyId} without an ARN`);
    }
    return arn;
  }

  async generateDataKey(context: EncryptionContext): Promise<DataKey> {
    const out = await call(() =>
      this.client.send(
        new GenerateDataKeyCommand({
          KeyId: this.options.keyId,
          KeySpec: 'AES_256',
          EncryptionContext: { ...context },
        }),
      ),
    );
    if (!out.Plaintext || !out.CiphertextBlob || out.KeyId === undefined) {
      throw new KeyProviderError('KMSInternalException', 'AWS KMS answered GenerateDataKey without a key');
    }
    return { keyId: out.KeyId, plaintext: Buffer.from(out.Plaintext), wrapped: Buffer.from(out.CiphertextBlob) };
  }

  async unwrap(key: WrappedDataKey, context: EncryptionContext): Promise<Buffer> {
    const out = await call(() =>
      this.client.send(
        new DecryptCommand({ CiphertextBlob: key.wrapped, KeyId: key.keyId, EncryptionContext: { ...context } }),
      ),
    );
    if (!out.Plaintext) {
      throw new KeyProviderError('KMSInternalException', 'AWS KMS answered Decrypt without a plaintext');
    }
    const plaintext = Buffer.from(out.Plaintext);
    out.Plaintext.fill(0);
    return plaintext;
  }

  /** ReEncrypt inside KMS: the same context as source and destination, so the owner binding stays. */
  async rewrap(key: WrappedDataKey, context: EncryptionContext, toKeyId: string): Promise<WrappedDataKey> {
    const out = await call(() =>
      this.client.send(
        new ReEncryptCommand({
          CiphertextBlob: key.wrapped,
          SourceKeyId: key.keyId,
          SourceEncryptionContext: { ...context },
          DestinationKeyId: toKeyId,
          DestinationEncryptionContext: { ...context },
        }),
      ),
    );
    if (!out.CiphertextBlob || out.KeyId === undefined) {
      throw new KeyProviderError('KMSInternalException', 'AWS KMS answered ReEncrypt without a ciphertext');
    }
    return { keyId: out.KeyId, wrapped: Buffer.from(out.CiphertextBlob) };
  }

  close(): Promise<void> {
    this.client.destroy();
    return Promise.resolve();
  }
}
