import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { BrokerCredentialRepository, type WrappedRow } from './broker-credential.repository.js';
import { KEY_PROVIDER, type KeyProvider, KeyProviderError, type KeyProviderName } from './key-provider.js';
import { LocalKeyProvider } from './local-key-provider.js';

/** Where a rotation stands, after each credential it handled. */
export interface RotationProgress {
  readonly toKeyId: string;
  /** Credentials not under `toKeyId` when the rotation started. */
  readonly total: number;
  /** Handled so far: rewrapped + alreadyDone + failed + skipped. */
  readonly done: number;
  readonly rewrapped: number;
  /** Found under `toKeyId` by the time it was written (another run, or stored anew): left alone. */
  readonly alreadyDone: number;
  readonly failed: number;
  /** Of an environment this deployment does not serve: not unwrapped here. */
  readonly skipped: number;
}

export interface RotationResult extends RotationProgress {
  /** The credentials whose data key did not unwrap, with KMS's code: they stay under their old key. */
  readonly failures: readonly { readonly accountId: string; readonly code: string }[];
}

export interface RotationOptions {
  /**
   * The key to re-wrap under. Unset: with `aws-kms`, KMS_KEY_ID as it resolves now (point KMS_KEY_ID or
   * its alias at the new key first); with `local`, a new master key made current, unless some credential
   * is not under the current key yet (a rotation cut short), which is then finished instead.
   */
  readonly toKeyId?: string;
  /** Rows read per batch (default 100). */
  readonly batchSize?: number;
  readonly onProgress?: (progress: RotationProgress) => void;
}

export interface KeyStatus {
  readonly keyProvider: KeyProviderName;
  /** The key new data keys go under, canonical (a KMS key ARN). */
  readonly currentKeyId: string;
  readonly keys: readonly {
    readonly keyProvider: KeyProviderName;
    readonly keyId: string;
    readonly credentials: number;
  }[];
}

/**
 * Key rotation for broker credentials: re-wraps every stored data key under a new key, one row at a
 * time, without touching a secret (AWS KMS: `ReEncrypt` inside KMS, the owner's context as source and
 * destination; local: unwrap and wrap again in memory). Each row's update is conditional on the row
 * still holding the wrapped key that was read (BrokerCredentialRepository.rewrap), so a run is
 * idempotent and resumable: after a crash mid-way, running it again re-wraps only what is still under
 * an old key, and no data key is wrapped twice. Afterwards the old key can go: `retireLocalKey` drops
 * a local master key once nothing is under it; an old KMS key is disabled in KMS (DisableKey, then
 * ScheduleKeyDeletion), and nothing needs it any more.
 */
@Injectable()
export class KeyRotation {
  constructor(
    private readonly credentials: BrokerCredentialRepository,
    @Inject(KEY_PROVIDER) private readonly keys: KeyProvider,
    @Inject(GATEWAY_CONFIG) private readonly config: Pick<GatewayConfig, 'environments'>,
  ) {}

  async status(): Promise<KeyStatus> {
    return {
      keyProvider: this.keys.name,
      currentKeyId: await this.keys.resolveKeyId(this.keys.currentKeyId()),
      keys: await this.credentials.countByKey(),
    };
  }

  async rotate(options: RotationOptions = {}): Promise<RotationResult> {
    const batchSize = options.batchSize ?? 100;
    const toKeyId = await this.target(options.toKeyId);
    const counts = await this.credentials.countByKey();
    const total = counts
      .filter((c) => c.keyProvider === this.keys.name && c.keyId !== toKeyId)
      .reduce((sum, c) => sum + c.credentials, 0);
    const failures: { accountId: string; code: string }[] = [];
    const progress = { toKeyId, total, done: 0, rewrapped: 0, alreadyDone: 0, failed: 0, skipped: 0 };
    let after: string | null = null;
    for (;;) {
      const batch: WrappedRow[] = await this.credentials.pageNotUnder(this.keys.name, toKeyId, after, batchSize);
      if (batch.length === 0) {
        break;
      }
      for (const row of batch) {
        const outcome = await this.rewrapOne(row, toKeyId);
        if (typeof outcome === 'object') {
          failures.push(outcome);
          progress.failed += 1;
        } else {
          progress[outcome] += 1;
        }
        progress.done += 1;
        options.onProgress?.({ ...progress });
      }
      after = batch[batch.length - 1]!.accountId;
    }
    return { ...progress, failures };
  }

  /**
   * Removes local master key `keyId` from LOCAL_MASTER_KEY_FILE once no credential is under it (after a
   * complete rotation). Throws when some still are, when it is the current key, or with another provider.
   */
  async retireLocalKey(keyId: string): Promise<void> {
    if (!(this.keys instanceof LocalKeyProvider)) {
      throw new KeyProviderError(
        'ValidationException',
        'only local master keys are retired here; disable KMS keys in KMS',
      );
    }
    const still = (await this.credentials.countByKey()).find((c) => c.keyProvider === 'local' && c.keyId === keyId);
    if (still !== undefined) {
      throw new KeyProviderError(
        'ValidationException',
        `${still.credentials} credentials are still under ${keyId}: rotate first`,
      );
    }
    await this.keys.removeKey(keyId);
  }

  /**
   * The key a rotation re-wraps under (RotationOptions.toKeyId), canonical: `requested` resolved, or
   * KMS_KEY_ID as it resolves now, or (local) a new master key made current, unless a rotation cut short
   * is to be finished first. A queued rotation resolves it once and keeps it, so each attempt goes on
   * under the same key.
   */
  async target(requested: string | undefined): Promise<string> {
    if (requested !== undefined) {
      return this.keys.resolveKeyId(requested);
    }
    const current = await this.keys.resolveKeyId(this.keys.currentKeyId());
    if (!(this.keys instanceof LocalKeyProvider)) {
      return current;
    }
    // A rotation cut short left rows under older keys: finish it rather than start another.
    const behind = (await this.credentials.countByKey()).some((c) => c.keyProvider === 'local' && c.keyId !== current);
    return behind ? current : this.keys.addKey();
  }

  private async rewrapOne(
    row: WrappedRow,
    toKeyId: string,
  ): Promise<'rewrapped' | 'alreadyDone' | 'skipped' | { accountId: string; code: string }> {
    if (!(this.config.environments as readonly string[]).includes(row.environment)) {
      return 'skipped';
    }
    const context = { accountId: row.accountId, broker: row.broker, environment: row.environment };
    let to;
    try {
      to = await this.keys.rewrap(row.key, context, toKeyId);
    } catch (error) {
      if (error instanceof KeyProviderError && error.code !== 'KMSUnavailable') {
        return { accountId: row.accountId, code: error.code };
      }
      // KMS unreachable: stop here; the next run resumes where this one stopped.
      throw error;
    }
    return (await this.credentials.rewrap(row.accountId, row.key, to)) ? 'rewrapped' : 'alreadyDone';
  }
}
