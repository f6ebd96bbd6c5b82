import type { Clock } from '@gateway/oms';
import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Logger } from 'pino';
import { Gauge } from 'prom-client';
import { LOGGER } from '../common/logger.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import {
  CREDENTIAL_VAULT,
  type BrokerSecrets,
  CredentialUnreadableError,
  type CredentialVault,
} from '../credentials/broker-secrets.js';
import { GatewayMetrics } from '../health/metrics.js';
import { AccountBrokers } from '../market/account-brokers.js';
import { CLOCK } from '../market/market.tokens.js';
import { BROKER_REAUTH_BLOCK, type BrokerConnection } from './broker-connection.js';
import { BrokerConnectionRepository, type ConnectionUpdate } from './broker-connection.repository.js';
import { BrokerConnectionsService, ownerOf } from './broker-connections.service.js';
import { TokenEndpointError } from './broker-oauth-client.js';
import { refreshTime, retryTime } from './refresh-schedule.js';

/** What one refresh of one connection came to. */
export type RefreshOutcome =
  | { readonly accountId: string; readonly kind: 'refreshed'; readonly accessExpiresAt: number | null }
  | { readonly accountId: string; readonly kind: 'failing'; readonly reason: string; readonly retryAt: number }
  | { readonly accountId: string; readonly kind: 'reauth_required'; readonly reason: string }
  /** Not due any more, or another instance holds the connection's lock. */
  | { readonly accountId: string; readonly kind: 'skipped' };

/**
 * Keeps OAuth access tokens fresh (README, "Connecting a broker", "When a token expires"):
 * - each connection's refresh is due `OAUTH_REFRESH_BEFORE_EXPIRY_SECONDS` before its access token expires,
 *   with jitter (`refresh-schedule.ts`); `refreshDue(now)` refreshes every connection due;
 * - at most one refresh per connection at a time across instances: the refresh runs while its
 *   `broker_connections` row is locked (`FOR UPDATE SKIP LOCKED`; a locked row is skipped, not waited for);
 * - a refresh refused for good (`invalid_grant`, `invalid_client`, Schwab's `refresh_token_authentication_error`
 *   / `unsupported_token_type`) makes the connection `reauth_required` and blocks the account's ENTRIES with
 *   that reason (exits, execution reports and reconciliation go on): an alert line
 *   (`alert: 'broker_reauth_required'`) and `gateway_broker_reauth_required_total`; a new login lifts it;
 * - a failure that may pass (broker down, 5xx, timeout, a credential that does not decrypt now) makes it
 *   `refresh_failing`, tried again with backoff (`OAUTH_REFRESH_RETRY_SECONDS` doubled, at most 32×);
 * - `gateway_broker_refresh_token_expiry_seconds{account,broker}`: seconds until each refresh token expires
 *   (negative once expired), read from PostgreSQL at each scrape, so every instance shows every connection.
 */
@Injectable()
export class TokenRefresher {
  constructor(
    private readonly repository: BrokerConnectionRepository,
    private readonly connections: BrokerConnectionsService,
    @Inject(CREDENTIAL_VAULT) private readonly vault: CredentialVault,
    private readonly metrics: GatewayMetrics,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(AccountBrokers) private readonly brokers: AccountBrokers | null = null,
  ) {
    const connectionsOf = () => repository.list();
    const nowOf = () => clock.now();
    new Gauge({
      name: 'gateway_broker_refresh_token_expiry_seconds',
      help: 'Seconds until the broker refresh token of each OAuth connection expires (a new login is needed then)',
      labelNames: ['account', 'broker'],
      registers: [metrics.registry],
      async collect() {
        this.reset();
        const now = nowOf();
        for (const c of await connectionsOf()) {
          if (c.refreshExpiresAt !== null && c.status !== 'disconnected') {
            this.set({ account: c.accountId, broker: c.broker }, Math.round((c.refreshExpiresAt - now) / 1000));
          }
        }
      },
    });
  }

  /** Refreshes every connection whose refresh is due at `now`, one after the other. */
  async refreshDue(now = this.clock.now()): Promise<RefreshOutcome[]> {
    const outcomes: RefreshOutcome[] = [];
    for (const accountId of await this.repository.due(now)) {
      outcomes.push(await this.refresh(accountId, now));
    }
    return outcomes;
  }

  /** Refreshes one connection if it is due at `now` and no other instance is refreshing it. */
  async refresh(accountId: string, now = this.clock.now()): Promise<RefreshOutcome> {
    try {
      const outcome = await this.repository.whileLockedIfDue(accountId, now, (c) => this.attempt(c, now));
      return outcome ?? { accountId, kind: 'skipped' };
    } catch (error) {
      // The database itself failed: nothing was written; the refresh stays due and is tried again.
      this.logger.error({ err: error, accountId }, 'token refresh could not be recorded');
      return { accountId, kind: 'failing', reason: 'database', retryAt: now };
    }
  }

  private async attempt(
    c: BrokerConnection,
    now: number,
  ): Promise<{ update: ConnectionUpdate; blockReason: string | null; result: RefreshOutcome }> {
    const client = this.connections.client(c.broker);
    const account = await this.repository.account(c.accountId);
    if (client === null || account === null) {
      return this.failing(c, now, client === null ? 'oauth_client_not_configured' : 'account_missing');
    }
    let secrets: BrokerSecrets | null;
    try {
      secrets = await this.vault.load(ownerOf(account));
    } catch (error) {
      const code = error instanceof CredentialUnreadableError ? error.code : 'vault_error';
      return this.failing(c, now, `credential_unreadable (${code})`);
    }
    if (secrets === null || secrets.kind !== 'oauth' || secrets.refreshToken === null) {
      return this.reauth(c, now, 'no_refresh_token');
    }
    try {
      const tokens = await client.refresh(secrets.refreshToken, secrets.refreshExpiresAt);
      await this.vault.store(ownerOf(account), {
        kind: 'oauth',
        accessToken: tokens.accessToken,
        accessExpiresAt: tokens.accessExpiresAt,
        refreshToken: tokens.refreshToken,
        refreshExpiresAt: tokens.refreshExpiresAt,
      });
      this.brokers?.credentialsChanged(account); // a running client is rebuilt with the new access token
      this.metrics.tokenRefreshes.inc({ broker: c.broker, outcome: 'ok' });
      this.logger.info(
        { accountId: c.accountId, broker: c.broker, accessExpiresAt: isoOrNull(tokens.accessExpiresAt) },
        'broker access token refreshed',
      );
      return {
        update: {
          status: 'connected',
          accessExpiresAt: tokens.accessExpiresAt,
          refreshExpiresAt: tokens.refreshExpiresAt,
          nextRefreshAt: refreshTime(tokens.accessExpiresAt, now, this.config.oauth),
          lastRefreshAt: now,
          lastRefreshOutcome: 'ok',
          refreshFailures: 0,
        },
        blockReason: null,
        result: { accountId: c.accountId, kind: 'refreshed', accessExpiresAt: tokens.accessExpiresAt },
      };
    } catch (error) {
      if (error instanceof TokenEndpointError && error.permanent) {
        return this.reauth(c, now, error.code);
      }
      const reason = error instanceof TokenEndpointError ? error.message : `${(error as Error).name}`;
      return this.failing(c, now, reason);
    }
  }

  private failing(c: BrokerConnection, now: number, reason: string) {
    const failures = c.refreshFailures + 1;
    const retryAt = retryTime(now, failures, this.config.oauth.refreshRetrySeconds);
    this.metrics.tokenRefreshes.inc({ broker: c.broker, outcome: 'failed' });
    this.logger.warn(
      { accountId: c.accountId, broker: c.broker, reason, failures, retryAt: new Date(retryAt).toISOString() },
      'broker token refresh failed; will retry',
    );
    return {
      update: {
        ...this.kept(c),
        status: 'refresh_failing' as const,
        nextRefreshAt: retryAt,
        lastRefreshAt: now,
        lastRefreshOutcome: `failed: ${reason}`,
        refreshFailures: failures,
      },
      blockReason: null,
      result: { accountId: c.accountId, kind: 'failing' as const, reason, retryAt },
    };
  }

  private reauth(c: BrokerConnection, now: number, code: string) {
    const reason = `${BROKER_REAUTH_BLOCK} ${c.broker} refused the refresh token (${code}); an admin must reconnect the account (POST /v1/accounts/${c.accountId}/broker-connection)`;
    this.metrics.tokenRefreshes.inc({ broker: c.broker, outcome: 'refused' });
    this.metrics.brokerReauthRequired.inc({ broker: c.broker });
    this.logger.error(
      { alert: 'broker_reauth_required', accountId: c.accountId, broker: c.broker, code },
      'BROKER REAUTHORIZATION REQUIRED: the refresh token was refused; entries of the account are blocked',
    );
    return {
      update: {
        ...this.kept(c),
        status: 'reauth_required' as const,
        nextRefreshAt: null,
        lastRefreshAt: now,
        lastRefreshOutcome: `refused: ${code}`,
        refreshFailures: c.refreshFailures,
      },
      blockReason: reason,
      result: { accountId: c.accountId, kind: 'reauth_required' as const, reason: code },
    };
  }

  private kept(c: BrokerConnection): Pick<ConnectionUpdate, 'accessExpiresAt' | 'refreshExpiresAt'> {
    return { accessExpiresAt: c.accessExpiresAt, refreshExpiresAt: c.refreshExpiresAt };
  }
}

const isoOrNull = (t: number | null) => (t === null ? null : new Date(t).toISOString());
