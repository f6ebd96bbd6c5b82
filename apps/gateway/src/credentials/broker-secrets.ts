import type { Environment } from '../auth/principal.js';
import { ApiError } from '../common/api-error.js';

/**
 * A broker's secrets for one account, as they exist in memory only while a call needs them. Stored
 * envelope-encrypted in `broker_credentials` (AES-256-GCM under a KMS data key bound to the owner's
 * encryption context); never logged, returned, counted or audited.
 * - `oauth`: an OAuth2 authorization-code grant's tokens (Schwab: access 30 min, refresh 7 days;
 *   Alpaca OAuth: an access token without expiry or refresh token). Expiries are epoch milliseconds.
 * - `api_key`: a key pair (Alpaca `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY`).
 */
export type BrokerSecrets =
  | {
      readonly kind: 'oauth';
      readonly accessToken: string;
      /** Epoch ms; null when the broker gives none (Alpaca OAuth). */
      readonly accessExpiresAt: number | null;
      readonly refreshToken: string | null;
      /** Epoch ms; null when there is no refresh token or the broker states no lifetime. */
      readonly refreshExpiresAt: number | null;
    }
  | { readonly kind: 'api_key'; readonly keyId: string; readonly secret: string };

/**
 * Whose secrets they are: the encryption context `{accountId, broker, environment}` every data key is
 * bound to, so a ciphertext moved to another account, broker or environment does not decrypt.
 */
export interface CredentialOwner {
  readonly accountId: string;
  readonly broker: string;
  readonly environment: Environment;
}

/** What may be shown of a stored credential: never a secret. Times are epoch milliseconds. */
export interface CredentialSummary extends CredentialOwner {
  readonly kind: BrokerSecrets['kind'];
  /** The KMS key (ARN) or local master key id the data key is wrapped under. */
  readonly keyId: string;
  readonly accessExpiresAt: number | null;
  readonly refreshExpiresAt: number | null;
  readonly updatedAt: number;
}

/**
 * The store of broker secrets (CredentialsModule provides it under this token).
 * - `store` encrypts under a fresh data key and replaces the owner's credential;
 * - `load` decrypts it, or answers null when the account has none; it throws `CredentialUnreadableError`
 *   when the ciphertext does not decrypt for this owner (moved, tampered with, its key disabled), and
 *   refuses a live owner in a deployment that does not serve `live`;
 * - `forget` deletes it (true when there was one);
 * - `list` describes every stored credential without decrypting anything.
 */
export interface CredentialVault {
  store(owner: CredentialOwner, secrets: BrokerSecrets): Promise<void>;
  load(owner: CredentialOwner): Promise<BrokerSecrets | null>;
  forget(accountId: string): Promise<boolean>;
  list(): Promise<CredentialSummary[]>;
}

export const CREDENTIAL_VAULT = Symbol('CREDENTIAL_VAULT');

/**
 * A stored credential that cannot be decrypted for its owner. The message names the account and the
 * KMS error code (`InvalidCiphertextException`, `DisabledException`...), never a secret.
 */
export class CredentialUnreadableError extends Error {
  override name = 'CredentialUnreadableError';
  constructor(
    readonly accountId: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  /**
   * The answer for a route that needed the credential: 409 `broker.credentials_unreadable` with the
   * account and KMS's code (the fix is to store the credential again), never a secret.
   */
  toApiError(): ApiError {
    return new ApiError(409, 'broker.credentials_unreadable', 'Broker credentials unreadable', this.message, {
      accountId: this.accountId,
      kmsCode: this.code,
    });
  }
}
