import type {
  AccountFigures,
  BookFigures,
  BrokerClientState,
  CounterValue,
  ProcessFigures,
  StateSnapshot,
  SymbolMarket,
} from '../../gateway/src/monitoring/snapshot.js';
export type {
  AccountFigures,
  BookFigures,
  BrokerClientState,
  CounterValue,
  EntryGate,
  ProcessFigures,
  QueueFigure,
  RecentOrder,
  StateSnapshot,
  SymbolMarket,
  TradingStateFigure,
} from '../../gateway/src/monitoring/snapshot.js';

/**
 * What the monitor sends a cockpit client over its WebSocket (`/ws`), JSON text frames. The client
 * first sends `{"type":"auth","token":"<bearer token>"}`; the monitor answers `hello` (or closes with
 * 4401) and then a `frame` every MONITOR_FRAME_MS with every instance aggregated. A client that does not
 * read its frames has them skipped, and is closed (4408) when it has read nothing for SLOW_CLIENT_MS.
 */
export type ServerMessage = HelloMessage | CockpitFrame;

export interface HelloMessage {
  readonly type: 'hello';
  readonly subject: string;
  readonly roles: readonly string[];
  /** Whether the kill switch is offered: the token has `risk` or `admin` (the gateway decides anyway). */
  readonly canHalt: boolean;
  readonly frameMs: number;
}

export interface CockpitFrame {
  readonly type: 'frame';
  readonly at: number;
  readonly instances: readonly InstanceFigures[];
  /** Broker round trip (submit → answer) per venue over the last LATENCY_WINDOW_MS, all instances. */
  readonly venues: readonly LatencyFigures[];
  /**
   * The broker round trip per venue over the RTT lockdown's own sliding window (LOCKDOWN_WINDOW_MS: exact
   * round trips, not bucket bounds), its threshold and whether it holds the venue locked, from each up
   * instance's gauges. Empty while the lockdown is off for every venue (or the instances predate it).
   */
  readonly rtt: readonly VenueRtt[];
  /** Every other `gateway_*` histogram over the same window, by metric and label set (stage latencies...). */
  readonly histograms: readonly LatencyFigures[];
  /** The gateway counters summed over the instances that are up. */
  readonly counters: readonly CounterValue[];
  readonly brokers: readonly (BrokerClientState & { readonly instance: string })[];
  readonly market: readonly SymbolMarket[];
  /** The database state as the freshest instance read it (accounts cut down to the token's). */
  readonly state: (Omit<StateSnapshot, 'accounts'> & { readonly accounts: readonly AccountFigures[] }) | null;
  /**
   * The LOBSTER 10-level book the paper venue's replay has in force, relayed from the newest up
   * instance's snapshot (Order book panel); null without one.
   */
  readonly book?: BookFigures | null;
}

/**
 * One venue's round trips over the lockdown's window, across the instances that are up: the highest
 * instance figure of each (an instance's p99 is what its lockdown compares), the round trips summed;
 * `locked` when any instance holds the lockdown. Figures are null when no instance has a round trip in
 * its window. ms.
 */
export interface VenueRtt {
  readonly venue: string;
  readonly count: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
  /** LOCKDOWN_RTT_MS of the venue; null when the lockdown is off for it. */
  readonly thresholdMs: number | null;
  readonly locked: boolean;
}

export interface InstanceFigures {
  readonly instance: string;
  /** When its newest snapshot was taken, and how old that was when this frame was made. */
  readonly at: number;
  readonly ageMs: number;
  /** False when no snapshot came for INSTANCE_DOWN_MS. */
  readonly up: boolean;
  readonly seq: number;
  readonly dropped: number;
  readonly process: ProcessFigures;
}

/**
 * Quantiles estimated from histogram buckets (linear inside the bucket, as Prometheus'
 * `histogram_quantile`), ms. `maxMs` is the upper bound of the highest bucket observed (the largest bucket
 * bound when it is `+Inf`).
 */
export interface LatencyFigures {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly count: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
  readonly meanMs: number | null;
  readonly windowMs: number;
}

/** Body of `POST|DELETE /api/kill-switch` (forwarded to the gateway's `/v1/kill-switch` as it is). */
export interface KillSwitchRequest {
  readonly scope: 'global' | 'account';
  readonly accountId?: string;
  readonly reason: string;
}
