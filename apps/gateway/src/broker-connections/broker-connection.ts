import { OAUTH_BROKERS, type OAuthBroker } from '../config/config.js';

/**
 * An account's OAuth2 connection to its broker:
 * - `connected`: tokens stored, the access token refreshed before it expires (where the broker issues refresh tokens);
 * - `refresh_failing`: the last refresh failed for a reason that may pass (broker down, 5xx, timeout); retried;
 * - `reauth_required`: the broker refused the refresh token for good (`invalid_grant`, `invalid_client`, Schwab's
 *   `refresh_token_authentication_error` / `unsupported_token_type`): entries are blocked until an admin reconnects;
 * - `disconnected`: forgotten (`DELETE …/broker-connection`); shown for an account that never connected too.
 */
export const CONNECTION_STATUSES = ['connected', 'refresh_failing', 'reauth_required', 'disconnected'] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

/** A `broker_connections` row, as the services see it. Times are epoch milliseconds. */
export interface BrokerConnection {
  readonly accountId: string;
  readonly broker: OAuthBroker;
  readonly status: ConnectionStatus;
  readonly accessExpiresAt: number | null;
  readonly refreshExpiresAt: number | null;
  readonly nextRefreshAt: number | null;
  readonly lastRefreshAt: number | null;
  /** `ok`, `refused: <oauth error>` or `failed: <reason>`; never a token. Null before the first refresh. */
  readonly lastRefreshOutcome: string | null;
  readonly refreshFailures: number;
  readonly connectedAt: number;
}

/** The reason an account's entries are blocked while its broker connection needs a new login. */
export const BROKER_REAUTH_BLOCK = 'broker_reauth_required:';

export const isOAuthBroker = (broker: string): broker is OAuthBroker =>
  (OAUTH_BROKERS as readonly string[]).includes(broker);
