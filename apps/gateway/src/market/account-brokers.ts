import {
  type BrokerAccount,
  type BrokerConnectionChange,
  BrokerNotConfiguredError,
  type BrokerRegistry,
  BrokerSetupError,
  EnvironmentNotServedError,
  type ExecutionClient,
  type MarketDataFeed,
} from '@gateway/brokers';
import { Inject, Injectable, type OnModuleDestroy, Optional } from '@nestjs/common';
import type { Logger } from 'pino';
import { ApiError } from '../common/api-error.js';
import { LOGGER } from '../common/logger.js';
import {
  type BrokerSecrets,
  CREDENTIAL_VAULT,
  type CredentialVault,
  CredentialUnreadableError,
} from '../credentials/broker-secrets.js';
import { BROKER_REGISTRY } from './market.tokens.js';

/** Where one client's connection stands, as far as entries go; absent: connected, entries allowed. */
type ConnectionBlock =
  | { readonly kind: 'down'; readonly reason: string; readonly since: number }
  | { readonly kind: 'setup'; readonly reason: string; readonly since: number }
  | { readonly kind: 'awaiting_reconciliation'; readonly since: number };

/**
 * The accounts' brokers, for the order path, reports, reconciliation and the kill switch: each account's
 * ExecutionClient from the broker registry, its secrets read lazily through the CredentialVault (only an
 * adapter that needs them asks; paper adapters never do, so a paper-only deployment decrypts nothing).
 *
 * Entry authority per broker (ARCHITECTURE.md, "Trading authority"): when a client's connection is lost,
 * the accounts it serves have their entries blocked (`broker <name> is disconnected: …`); when it is back
 * they stay blocked (`… reconnected; entries wait for a clean reconciliation`) until the reconnect
 * reconciliation (orders/broker-reconnect.ts) has passed every account of it cleanly and calls
 * `restored`. Other brokers' accounts are not touched. The block is this instance's view of its own
 * connection (each instance has its own), kept in memory.
 */
@Injectable()
export class AccountBrokers implements OnModuleDestroy {
  private readonly blocks = new Map<string, ConnectionBlock>();
  private readonly reconnectListeners = new Set<(change: BrokerConnectionChange) => void>();
  private readonly unsubscribe: () => void;

  constructor(
    @Inject(BROKER_REGISTRY) readonly registry: BrokerRegistry<BrokerSecrets>,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(CREDENTIAL_VAULT) private readonly vault: CredentialVault | null = null,
  ) {
    this.unsubscribe = registry.onConnectionChange((change) => this.onConnectionChange(change));
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  /**
   * The account's client (built on first use). Throws ApiError `503 service.unavailable` when its broker
   * is not configured in this deployment or does not serve its environment, or the client cannot be built
   * (the reason, never a secret), and `409 broker.credentials_unreadable` naming KMS's code when the
   * account's stored credential does not decrypt for it (copied from another account or environment, its
   * key disabled): entries stay blocked with that reason until a build succeeds.
   */
  async clientFor(account: BrokerAccount): Promise<ExecutionClient> {
    try {
      const client = await this.registry.clientFor(account, () => this.secretsOf(account));
      const key = this.registry.keyOf(account).key;
      if (this.blocks.get(key)?.kind === 'setup') {
        this.blocks.delete(key);
      }
      return client;
    } catch (error) {
      if (error instanceof BrokerNotConfiguredError || error instanceof EnvironmentNotServedError) {
        throw ApiError.unavailable(`Account ${account.id}: ${error.message}.`);
      }
      if (error instanceof BrokerSetupError) {
        // The owner can fix it (store the keys): entries stay blocked with the reason until a build succeeds.
        this.blocks.set(this.registry.keyOf(account).key, { kind: 'setup', reason: error.message, since: Date.now() });
        this.logger.warn(
          { accountId: account.id, broker: account.broker, reason: error.message },
          'broker client not built',
        );
        throw ApiError.unavailable(`${error.message}.`);
      }
      if (error instanceof CredentialUnreadableError) {
        this.blocks.set(this.registry.keyOf(account).key, { kind: 'setup', reason: error.message, since: Date.now() });
        this.logger.warn(
          {
            accountId: account.id,
            broker: account.broker,
            kmsCode: error.code,
            alert: 'broker_credentials_unreadable',
          },
          'broker client not built: the stored credential does not decrypt for this account',
        );
        throw error.toApiError();
      }
      this.logger.error({ err: error, accountId: account.id, broker: account.broker }, 'broker client not built');
      throw ApiError.unavailable(`Account ${account.id}: the ${account.broker} broker client could not be set up.`);
    }
  }

  /**
   * The quotes the account's orders are checked against when its broker has its own (BrokerSession.marketData:
   * a `schwab` account's are Schwab's streamer quotes), or null: the deployment's feed (MARKET_DATA) applies
   * (paper, paper-http, alpaca). Builds the client on first use; throws as `clientFor` does.
   */
  async marketDataFor(account: BrokerAccount): Promise<MarketDataFeed | null> {
    await this.clientFor(account);
    return this.registry.marketDataFor(account, () => this.secretsOf(account));
  }

  /**
   * The account's credentials were stored again (new keys, an OAuth login, a refreshed token): its
   * account-scoped client, when there is one, is retired (BrokerRegistry.evict, make before break) and
   * the next `clientFor` builds one with the new secrets. A broker-scoped client reads no secrets and is
   * left alone. Reports the old client delivered meanwhile are kept; anything missed is reconciliation's.
   */
  credentialsChanged(account: Pick<BrokerAccount, 'id' | 'broker'>): void {
    if (!this.registry.adapterOf(account.broker)) {
      return;
    }
    const key = this.registry.keyOf(account);
    if (key.accountId !== null && this.registry.evict(key.key)) {
      this.logger.info(
        { accountId: account.id, broker: account.broker },
        'broker credentials changed: client rebuilt on next use',
      );
    }
  }

  /**
   * Whether the account's client serves every account of its broker (a broker-scoped client, the paper
   * venues), so what it reports (positions) is theirs together. Throws for a broker not configured.
   */
  isBrokerScoped(account: Pick<BrokerAccount, 'id' | 'broker'>): boolean {
    return this.registry.keyOf(account).accountId === null;
  }

  /** Whether the account's broker is configured and serves its environment. */
  serves(broker: string, environment: BrokerAccount['environment']): boolean {
    return this.registry.serves(broker, environment);
  }

  /** Why the account's entries are blocked by its broker's connection, or null when they are not. */
  entriesBlockedReason(account: Pick<BrokerAccount, 'id' | 'broker'>): string | null {
    if (!this.registry.adapterOf(account.broker)) {
      return null; // refused as not configured when the order is sent
    }
    const key = this.registry.keyOf(account);
    const block = this.blocks.get(key.key);
    if (!block) {
      return null;
    }
    if (block.kind === 'setup') {
      return `broker ${key.broker} client cannot be set up: ${block.reason}`;
    }
    return block.kind === 'down'
      ? `broker ${key.broker} is disconnected (${block.reason}); exits only until it is back and reconciled`
      : `broker ${key.broker} reconnected; entries wait for a clean reconciliation of its accounts`;
  }

  /** Clients whose connection came back and whose accounts await their reconciliation. */
  awaitingReconciliation(): BrokerConnectionChange[] {
    return [...this.blocks.entries()]
      .filter(([, block]) => block.kind === 'awaiting_reconciliation')
      .map(([key]) => this.registry.clients().find((c) => c.key === key))
      .filter((c) => c !== undefined)
      .map((c) => ({ ...c, connected: true as const }));
  }

  /** Whether the client (a registry key) is back and its accounts still await their clean reconciliation. */
  isAwaitingReconciliation(key: string): boolean {
    return this.blocks.get(key)?.kind === 'awaiting_reconciliation';
  }

  /** Told when a client's connection is back (its accounts are to be reconciled). Returns the unsubscribe. */
  onReconnected(listener: (change: BrokerConnectionChange) => void): () => void {
    this.reconnectListeners.add(listener);
    return () => {
      this.reconnectListeners.delete(listener);
    };
  }

  /** A clean reconciliation of the client's accounts since it reconnected: entries are allowed again. */
  restored(key: string): void {
    if (this.blocks.get(key)?.kind === 'awaiting_reconciliation') {
      this.blocks.delete(key);
      this.logger.info({ broker: key }, 'broker reconnected and reconciled: entries allowed again');
    }
  }

  private onConnectionChange(change: BrokerConnectionChange): void {
    if (!change.connected) {
      this.blocks.set(change.key, { kind: 'down', reason: change.reason, since: Date.now() });
      this.logger.warn(
        { broker: change.broker, accountId: change.accountId, reason: change.reason, alert: 'broker_disconnected' },
        'broker connection lost: entries blocked on its accounts',
      );
      return;
    }
    if (this.blocks.get(change.key)?.kind !== 'down') {
      return;
    }
    this.blocks.set(change.key, { kind: 'awaiting_reconciliation', since: Date.now() });
    this.logger.info({ broker: change.broker, accountId: change.accountId }, 'broker connection back: reconciling');
    for (const listener of this.reconnectListeners) {
      try {
        listener(change);
      } catch (error) {
        this.logger.error({ err: error }, 'broker reconnect listener failed');
      }
    }
  }

  private async secretsOf(account: BrokerAccount): Promise<BrokerSecrets | null> {
    if (!this.vault) {
      return null;
    }
    return this.vault.load({ accountId: account.id, broker: account.broker, environment: account.environment });
  }
}
