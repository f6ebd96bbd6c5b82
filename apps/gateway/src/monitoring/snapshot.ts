import type { BookFigures } from '@gateway/brokers';

export type { BookFigures } from '@gateway/brokers';

/**
 * The compact snapshot each gateway instance publishes for the operations cockpit (README, "Cockpit"):
 * JSON on the Redis channel `<REDIS_PREFIX>monitor:snapshot`, at most every MONITOR_SNAPSHOT_MS. The
 * monitor (apps/monitor) aggregates the instances' snapshots. Times are epoch ms unless named otherwise;
 * durations are ms; money and quantities are decimal strings, as in the API. Every field a later version
 * adds (per-stage latency, an RTT lockdown state) is optional, so the monitor and the cockpit read older
 * and newer snapshots alike.
 */
export interface GatewaySnapshot {
  readonly v: 1;
  /** `<hostname>:<pid>:<random>`: one running process. */
  readonly instance: string;
  readonly at: number;
  /** Counts this instance's snapshots, from 1; a gap means snapshots were dropped. */
  readonly seq: number;
  /** Snapshots dropped so far because Redis was down or the previous publish had not finished. */
  readonly dropped: number;
  readonly process: ProcessFigures;
  /** Every counter of the metrics registry (`/metrics`), cumulative, one entry per label set. */
  readonly counters: readonly CounterValue[];
  /**
   * Every `gateway_*` gauge of the registry as it stands (the RTT lockdown's `gateway_lockdown_active`,
   * `gateway_lockdown_threshold_seconds`, `gateway_broker_rtt_window_seconds{quantile}` and
   * `gateway_broker_rtt_window_count` among them: the Sentinel's round trip figures). Absent from older
   * instances.
   */
  readonly gauges?: readonly CounterValue[];
  /** Every histogram of the registry, as the observations since this instance's previous snapshot. */
  readonly histograms: readonly HistogramDelta[];
  /** The broker clients this instance holds and whether their connection is up. */
  readonly brokers: readonly BrokerClientState[];
  /** Quote age, spread, tick-direction entropy and regime of the symbols followed (Market panel). */
  readonly market: readonly SymbolMarket[];
  /**
   * The LOBSTER 10-level book the paper venue's replay has in force now, with its WOBI and liquidity
   * imbalance (Order book panel); null without the sample, absent from older instances.
   */
  readonly book?: BookFigures | null;
  /** The database state (accounts, gates, orders, queues), as read at `state.at` (every MONITOR_STATE_MS). */
  readonly state: StateSnapshot | null;
}

export interface ProcessFigures {
  /** CPU time of this process over the interval, in % of one core (can exceed 100 on several cores). */
  readonly cpuPercent: number;
  /** The machine's cores, each busy % over the interval (os.cpus(): all processes, not only this one). */
  readonly cpuCores: readonly number[];
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  /** perf_hooks monitorEventLoopDelay over the interval (10 ms resolution): ms. */
  readonly eventLoop: { readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number };
  readonly uptimeSeconds: number;
}

export interface CounterValue {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * A Prometheus histogram's observations over one interval: `counts[i]` observations fell at or under
 * `buckets[i]` seconds and over `buckets[i-1]` (not cumulative); `counts` has one more entry than
 * `buckets`, the `+Inf` bucket. `sum` is in seconds.
 */
export interface HistogramDelta {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly buckets: readonly number[];
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

export interface BrokerClientState {
  /** The registry key of the client (broker, or broker and account). */
  readonly key: string;
  readonly broker: string;
  readonly connected: boolean;
  readonly reason: string | null;
  /** When this instance first saw the current connection state. */
  readonly since: number;
}

export interface SymbolMarket {
  readonly symbol: string;
  readonly bid: string | null;
  readonly ask: string | null;
  /** (ask - bid) / mid in basis points; null without a two-sided quote. */
  readonly spreadBps: number | null;
  /** On the feed's clock (a replay's recorded market time), as the risk check measures it. */
  readonly quoteAgeMs: number | null;
  /**
   * Shannon entropy, in bits, of the direction of the last TICK_WINDOW mid-price changes (up, down,
   * unchanged): H = -Σ p·log2(p) over the three; 0 = every tick the same way, log2(3) ≈ 1.585 = uniform.
   */
  readonly entropyBits: number | null;
  readonly ticks: number;
  /** `attack`: a fresh, two-sided, uncrossed quote and trading not halted; `veto` otherwise, with why. */
  readonly regime: 'attack' | 'veto';
  readonly vetoReason: string | null;
  /**
   * Since when (epoch ms, as this instance first saw it) the symbol's market data itself refuses entries
   * (no, one-sided, crossed or stale quote: the Gates panel's `stale market data`); null while it does
   * not. Absent from older instances.
   */
  readonly dataVetoSince?: number | null;
}

export interface StateSnapshot {
  readonly at: number;
  readonly global: TradingStateFigure;
  readonly accounts: readonly AccountFigures[];
  /** The job queues' counts; null while Redis does not answer. */
  readonly jobs: readonly QueueFigure[] | null;
}

export interface TradingStateFigure {
  readonly state: 'active' | 'reducing' | 'halted';
  /**
   * What set the state (the latest change's source in the trading-state history): `kill_switch`,
   * `rearm`, `trading_state` (risk staff), `lockdown` (the RTT lockdown) or `order_to_trade_ratio`; null
   * when never changed. Absent from older instances.
   */
  readonly source?: string | null;
  readonly reason: string | null;
  readonly changedBy: string | null;
  /** Epoch ms; null when never changed. */
  readonly changedAt: number | null;
}

export interface AccountFigures {
  readonly id: string;
  readonly name: string;
  readonly broker: string;
  readonly environment: 'paper' | 'live';
  /** The account's own state; `effective` is the more restrictive of it and the global one. */
  readonly own: TradingStateFigure;
  readonly effective: { readonly state: 'active' | 'reducing' | 'halted'; readonly reason: string | null };
  /** Every reason entries are refused now, each with when it began (as this instance first saw it). */
  readonly gates: readonly EntryGate[];
  readonly connection: {
    readonly status: 'connected' | 'refresh_failing' | 'reauth_required' | 'disconnected';
    readonly accessExpiresAt: number | null;
    readonly refreshExpiresAt: number | null;
  } | null;
  /**
   * Unrealized P&L at the current mark (mid, else last, of a quote no older than RISK_MAX_QUOTE_AGE_MS;
   * null without one), as `GET /v1/accounts/{id}/positions` gives it; absent from older instances.
   */
  readonly positions: readonly {
    symbol: string;
    quantity: string;
    averagePrice: string;
    realizedPnl: string;
    unrealizedPnl?: string | null;
  }[];
  /** The newest orders, newest first. */
  readonly recentOrders: readonly RecentOrder[];
  readonly execution: ExecutionFigures;
}

/** Why entries are blocked: the code says which gate, `reason` the gateway's own words. */
export interface EntryGate {
  readonly code:
    | 'trading_halted'
    | 'trading_reducing'
    /** The account's own `reducing` set by the RTT lockdown (source `lockdown`). */
    | 'lockdown'
    | 'restart_not_reconciled'
    | 'unknown_orders'
    | 'broker_disconnected'
    | 'reauth_required'
    | 'otr_ceiling'
    | 'position_break'
    | 'blocked';
  readonly reason: string;
  readonly since: number;
}

export interface RecentOrder {
  readonly id: string;
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: string;
  readonly type: string;
  readonly quantity: string;
  readonly filledQuantity: string;
  readonly limitPrice: string | null;
  /** Absent from older instances. */
  readonly averageFillPrice?: string | null;
  /** The mid of the quote the risk check used at intent; null without one. Absent from older instances. */
  readonly intentMid?: string | null;
  readonly status: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  /**
   * The statuses the order's events took it through, oldest first, each with when its event was recorded
   * (the blotter's state timeline); for the blotter's orders only, absent from older instances.
   */
  readonly timeline?: readonly { readonly status: string; readonly at: number }[];
}

/**
 * Execution figures of an account over the newest orders (at most RECENT_ORDERS of the last
 * `windowMs`): fill rate = orders with any fill / orders; cancel rate = orders canceled / orders;
 * orders per second over the last 10 s; order-to-trade ratio of the trading day (the risk check's).
 */
export interface ExecutionFigures {
  readonly windowMs: number;
  readonly orders: number;
  readonly fillRate: number | null;
  readonly cancelRate: number | null;
  readonly ordersPerSecond: number;
  readonly working: number;
  readonly orderToTrade: { readonly ratio: string; readonly ceiling: string | null } | null;
  /**
   * Net expected value of the fills of those orders, in the account's currency (decimal string, 2
   * places): Σ s × (mid at intent − average fill price) × filled quantity × contract multiplier, s = +1
   * for a buy, −1 for a sell; positive when the fills were better than the mid at intent. Null when no
   * filled order has a mid at intent. Absent from older instances.
   */
  readonly netExpectedValue?: string | null;
  /** Filled orders in that sum, and filled orders left out for want of a mid at intent. */
  readonly filledValued?: number;
  readonly filledUnvalued?: number;
}

export interface QueueFigure {
  readonly name: string;
  readonly waiting: number;
  readonly active: number;
  readonly delayed: number;
  readonly failed: number;
}

/** The Redis channel (after REDIS_PREFIX) the snapshots are published on. */
export const SNAPSHOT_CHANNEL = 'monitor:snapshot';
