import type { GatewayConfig } from '../config/config.js';
import { AwsKmsKeyProvider } from './aws-kms-key-provider.js';
import type { KeyProvider } from './key-provider.js';
import { LocalKeyProvider } from './local-key-provider.js';

/**
 * The key provider KEY_PROVIDER names, ready: the local master key file opened (made on first start),
 * or AWS KMS's key described once, so that a wrong KMS_KEY_ID, region, endpoint or permission stops the
 * start with KMS's own error instead of the first credential's store. Throws with a one-line message.
 */
export async function openKeyProvider(config: GatewayConfig['credentials']): Promise<KeyProvider> {
  if (config.keyProvider === 'local') {
    return LocalKeyProvider.open(config.localMasterKeyFile);
  }
  const kms = config.kms!;
  const provider = new AwsKmsKeyProvider(kms);
  try {
    await provider.resolveKeyId(kms.keyId);
  } catch (error) {
    await provider.close();
    throw new Error(`AWS KMS key ${kms.keyId} (KMS_KEY_ID) is not usable: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return provider;
}
