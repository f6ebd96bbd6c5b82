import type { ConnectionChange, ExecutionClient } from './execution-client.js';
import type { MarketDataFeed } from './market-data.js';
import type { ExecutionReport } from './reports.js';

/** The environments an account (and a broker's adapter) can be in. */
export type BrokerEnvironment = 'paper' | 'live';

/** What the registry needs of an account (table `accounts`): its id, broker, environment and broker-side id. */
export interface BrokerAccount {
  readonly id: string;
  /** The broker's name as configured (`paper`, `alpaca`, `schwab`...). */
  readonly broker: string;
  readonly environment: BrokerEnvironment;
  /** The account's number at the broker (Alpaca account id, Schwab account hash); null when not given. */
  readonly brokerAccountId: string | null;
}

/**
 * What an adapter is handed to build a client. `account` is the account for an account-scoped adapter
 * (null for a broker-scoped one). `secrets` loads (decrypts) the account's credentials when called: only
 * an account-scoped adapter that needs them calls it, once per client; a broker-scoped one never does.
 */
export interface BrokerClientRequest<S> {
  readonly broker: string;
  readonly account: BrokerAccount | null;
  readonly secrets: () => Promise<S | null>;
}

/** A client an adapter built, with how to release it (stop its streams, close its connections). */
export interface BrokerSession {
  readonly client: ExecutionClient;
  /**
   * The broker's own quotes for the accounts this client serves (Schwab's streamer), when the adapter has
   * them: the pre-trade checks of those accounts use them instead of the deployment's feed. Absent: the
   * deployment's feed (MARKET_DATA) prices the accounts' orders. Its life is the session's.
   */
  readonly marketData?: MarketDataFeed;
  close(): Promise<void>;
}

/**
 * How one broker of the deployment is served: a factory of ExecutionClients.
 * - `scope: 'broker'`: one client serves every account of the broker (the paper venues);
 * - `scope: 'account'`: one client per account, built with that account's credentials (Alpaca, Schwab).
 * `environments`: the account environments the adapter may serve (a paper venue serves `paper` only).
 */
export interface BrokerAdapter<S = unknown> {
  /** The adapter's configured name (`paper`, `paper-http`, later `alpaca`, `schwab`), for logs and errors. */
  readonly name: string;
  readonly scope: 'broker' | 'account';
  readonly environments: readonly BrokerEnvironment[];
  create(request: BrokerClientRequest<S>): Promise<BrokerSession>;
}

/** One client of the registry: the broker it serves, and the account for an account-scoped client. */
export interface BrokerClientKey {
  readonly broker: string;
  /** null for a broker-scoped client (it serves every account of the broker). */
  readonly accountId: string | null;
  /** `broker`, or `broker/accountId` for an account-scoped client: the client's cache key. */
  readonly key: string;
}

/** A connection change of one client (see ExecutionClient.onConnectionChange). */
export type BrokerConnectionChange = BrokerClientKey & ConnectionChange;

/** An execution report with the client it came from. */
export type RegistryReportListener = (report: ExecutionReport, from: BrokerClientKey) => void;

/** The account's broker is not one of this deployment's (BROKERS). */
export class BrokerNotConfiguredError extends Error {
  override name = 'BrokerNotConfiguredError';
  constructor(
    readonly broker: string,
    readonly configured: readonly string[],
  ) {
    super(`broker ${broker} is not configured in this deployment (it has ${configured.join(', ') || 'none'})`);
  }
}

/** The account's environment is not one its broker's adapter serves (a live account on a paper venue). */
export class EnvironmentNotServedError extends Error {
  override name = 'EnvironmentNotServedError';
  constructor(
    readonly broker: string,
    readonly adapter: string,
    readonly environment: BrokerEnvironment,
  ) {
    super(`broker ${broker} (adapter ${adapter}) does not serve ${environment} accounts`);
  }
}

/**
 * An adapter cannot build the account's client for a reason the account's owner can fix (no credentials
 * stored, keys the broker refuses). The message says what to do and is safe to show: never a secret.
 */
export class BrokerSetupError extends Error {
  override name = 'BrokerSetupError';
}

export interface BrokerRegistryConfig<S> {
  /** The deployment's brokers by name, each with its adapter. */
  readonly brokers: Readonly<Record<string, BrokerAdapter<S>>>;
  /** Receives a listener's error (the other listeners still get the report or change) [console.error]. */
  readonly onError?: (error: unknown) => void;
}

interface Entry {
  readonly id: BrokerClientKey;
  readonly session: Promise<BrokerSession>;
  /** Once built. */
  client: ExecutionClient | null;
  /** The client's report subscription, taken once the registry has a report listener. */
  reportsOff: (() => void) | null;
  connectionOff: (() => void) | null;
}

/**
 * The deployment's brokers and their ExecutionClients: `clientFor(account)` gives the account's client,
 * built on first use by the broker's adapter and cached (one per broker, or one per account for an
 * account-scoped adapter); a build that fails is not cached, the next call tries again. Every client's
 * execution reports and connection changes reach the registry's listeners, clients built later too. A
 * client is subscribed to only once the registry has a report listener, so a client whose stream waits
 * for its first listener (HttpVenueClient) loses no report delivered before the consumer is wired.
 * `open()` builds the broker-scoped clients at once (so their report streams and connection state exist
 * before any account asks); `close()` releases every client.
 */
export class BrokerRegistry<S = unknown> {
  private readonly adapters: ReadonlyMap<string, BrokerAdapter<S>>;
  private readonly entries = new Map<string, Entry>();
  /** Evicted clients still delivering reports, by key, until their replacement is built (or close()). */
  private readonly retiring = new Map<string, Entry>();
  private readonly reportListeners = new Set<RegistryReportListener>();
  private readonly connectionListeners = new Set<(change: BrokerConnectionChange) => void>();
  private readonly onError: (error: unknown) => void;
  private closed = false;

  constructor(config: BrokerRegistryConfig<S>) {
    this.adapters = new Map(Object.entries(config.brokers));
    this.onError = config.onError ?? ((error) => console.error('[broker-registry]', error));
  }

  /**
   * A registry of one broker served by one existing client (broker-scoped, any environment), named as
   * the client's venue unless `broker` is given; `close()` leaves the client alone. For specs and tools.
   */
  static of<S = unknown>(client: ExecutionClient, broker = client.venue): BrokerRegistry<S> {
    return new BrokerRegistry<S>({
      brokers: {
        [broker]: {
          name: 'fixed',
          scope: 'broker',
          environments: ['paper', 'live'],
          create: () => Promise.resolve({ client, close: () => Promise.resolve() }),
        },
      },
    });
  }

  /** The configured broker names, in configuration order. */
  brokers(): string[] {
    return [...this.adapters.keys()];
  }

  /** The broker's adapter, or undefined when the broker is not configured. */
  adapterOf(broker: string): BrokerAdapter<S> | undefined {
    return this.adapters.get(broker);
  }

  /** Whether the deployment has the broker and its adapter serves accounts of `environment`. */
  serves(broker: string, environment: BrokerEnvironment): boolean {
    return this.adapters.get(broker)?.environments.includes(environment) ?? false;
  }

  /** Which client serves the account. Throws BrokerNotConfiguredError when the broker is not configured. */
  keyOf(account: Pick<BrokerAccount, 'id' | 'broker'>): BrokerClientKey {
    const adapter = this.adapters.get(account.broker);
    if (!adapter) {
      throw new BrokerNotConfiguredError(account.broker, this.brokers());
    }
    return adapter.scope === 'broker'
      ? { broker: account.broker, accountId: null, key: account.broker }
      : { broker: account.broker, accountId: account.id, key: `${account.broker}/${account.id}` };
  }

  /**
   * The account's client, built on first use. `secrets` loads the account's credentials; it is called
   * only by an account-scoped adapter that needs them, when it builds the client. Throws
   * BrokerNotConfiguredError, EnvironmentNotServedError, or what the adapter's build threw (not cached).
   */
  clientFor(
    account: BrokerAccount,
    secrets: () => Promise<S | null> = () => Promise.resolve(null),
  ): Promise<ExecutionClient> {
    const adapter = this.adapters.get(account.broker);
    if (!adapter) {
      return Promise.reject(new BrokerNotConfiguredError(account.broker, this.brokers()));
    }
    if (!adapter.environments.includes(account.environment)) {
      return Promise.reject(new EnvironmentNotServedError(account.broker, adapter.name, account.environment));
    }
    const id = this.keyOf(account);
    return this.entry(id, adapter, id.accountId === null ? null : account, secrets).then((s) => s.client);
  }

  /**
   * The quotes of the account's client (BrokerSession.marketData), built on first use like `clientFor`;
   * null when its adapter has none. Throws as `clientFor` does.
   */
  async marketDataFor(
    account: BrokerAccount,
    secrets: () => Promise<S | null> = () => Promise.resolve(null),
  ): Promise<MarketDataFeed | null> {
    await this.clientFor(account, secrets);
    const adapter = this.adapters.get(account.broker)!;
    const id = this.keyOf(account);
    const session = await this.entry(id, adapter, id.accountId === null ? null : account, secrets);
    return session.marketData ?? null;
  }

  /** Builds every broker-scoped client now (their report streams start); rejects when one cannot be built. */
  async open(): Promise<void> {
    const builds: Promise<BrokerSession>[] = [];
    for (const [broker, adapter] of this.adapters) {
      if (adapter.scope === 'broker') {
        const id = { broker, accountId: null, key: broker };
        builds.push(this.entry(id, adapter, null, () => Promise.resolve(null)));
      }
    }
    await Promise.all(builds);
  }

  /** The clients built so far (and being built), by key; an evicted one until its replacement is built. */
  clients(): BrokerClientKey[] {
    const retiring = [...this.retiring.values()].filter((e) => !this.entries.has(e.id.key));
    return [...this.entries.values(), ...retiring].map((e) => e.id);
  }

  /**
   * Retires the client of `key` (a BrokerClientKey's `key`) because what it was built from changed (the
   * account's credentials were stored again, its OAuth tokens refreshed): the next `clientFor` builds a
   * new one, calling `secrets` again. Make before break: the evicted client stops reporting connection
   * changes at once, but keeps delivering its execution reports until its replacement is built and
   * subscribed, and is closed only then (or by `close()`), so no report in between is lost; one both
   * deliver reaches the listeners twice (the report processor drops it by its execution id). While the
   * replacement cannot be built (wrong keys), the evicted client keeps delivering its reports only.
   * A client still being built is dropped (its callers get an error, it is released when it is built).
   * Answers whether there was a client of that key. Anything missed beyond that is the reconciliation's.
   */
  evict(key: string): boolean {
    const entry = this.entries.get(key);
    if (!entry) {
      return false;
    }
    this.entries.delete(key);
    if (entry.client === null) {
      return true; // being built: entry() releases it when its build ends (it no longer owns the key)
    }
    entry.connectionOff?.();
    entry.connectionOff = null;
    const older = this.retiring.get(key);
    this.retiring.set(key, entry);
    if (older) {
      void this.release(older); // evicted twice before a replacement was built: the newer one serves
    }
    return true;
  }

  /** Every client's execution reports, from the clients built now and later. Returns the unsubscribe. */
  onExecutionReport(listener: RegistryReportListener): () => void {
    this.reportListeners.add(listener);
    for (const entry of [...this.entries.values(), ...this.retiring.values()]) {
      this.subscribeReports(entry);
    }
    return () => {
      this.reportListeners.delete(listener);
    };
  }

  /** Every client's connection changes, from the clients built now and later. Returns the unsubscribe. */
  onConnectionChange(listener: (change: BrokerConnectionChange) => void): () => void {
    this.connectionListeners.add(listener);
    return () => {
      this.connectionListeners.delete(listener);
    };
  }

  /** Releases every client (once each); clientFor refuses afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    const entries = [...this.entries.values(), ...this.retiring.values()];
    this.entries.clear();
    this.retiring.clear();
    await Promise.all(entries.map((entry) => this.release(entry)));
  }

  /** Unsubscribes a client and closes its session (a close error goes to onError). */
  private async release(entry: Entry): Promise<void> {
    entry.reportsOff?.();
    entry.reportsOff = null;
    entry.connectionOff?.();
    entry.connectionOff = null;
    const session = await entry.session.catch(() => null);
    await session?.close().catch((error: unknown) => this.onError(error));
  }

  private entry(
    id: BrokerClientKey,
    adapter: BrokerAdapter<S>,
    account: BrokerAccount | null,
    secrets: () => Promise<S | null>,
  ): Promise<BrokerSession> {
    if (this.closed) {
      return Promise.reject(new Error('BrokerRegistry: closed'));
    }
    const cached = this.entries.get(id.key);
    if (cached) {
      return cached.session;
    }
    const session = adapter.create({ broker: id.broker, account, secrets }).then((built) => {
      const entry = this.entries.get(id.key);
      if (entry?.session !== session) {
        // Closed or evicted while it was being built: release it, it has no owner.
        void built.close().catch((error: unknown) => this.onError(error));
        throw new Error(this.closed ? 'BrokerRegistry: closed' : 'BrokerRegistry: client evicted while being built');
      }
      entry.client = built.client;
      this.subscribeReports(entry);
      entry.connectionOff =
        built.client.onConnectionChange?.((change) => this.tellConnection({ ...id, ...change })) ?? null;
      const retired = this.retiring.get(id.key);
      if (retired) {
        // The replacement delivers the reports now: the evicted client can go.
        this.retiring.delete(id.key);
        void this.release(retired);
      }
      return built;
    });
    this.entries.set(id.key, { id, session, client: null, reportsOff: null, connectionOff: null });
    session.catch(() => {
      if (this.entries.get(id.key)?.session === session) {
        this.entries.delete(id.key); // not cached: the next call builds again
      }
    });
    return session;
  }

  private subscribeReports(entry: Entry): void {
    if (entry.client !== null && entry.reportsOff === null && this.reportListeners.size > 0) {
      entry.reportsOff = entry.client.onExecutionReport((report) => this.tellReport(report, entry.id));
    }
  }

  private tellReport(report: ExecutionReport, from: BrokerClientKey): void {
    for (const listener of this.reportListeners) {
      try {
        listener(report, from);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  private tellConnection(change: BrokerConnectionChange): void {
    for (const listener of this.connectionListeners) {
      try {
        listener(change);
      } catch (error) {
        this.onError(error);
      }
    }
  }
}
