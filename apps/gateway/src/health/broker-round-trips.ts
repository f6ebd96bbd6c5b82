import { Inject, Injectable, Optional } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { type BrokerCommandKind, GatewayMetrics } from './metrics.js';
import type { StageStart } from './stage-clock.js';

/** Samples kept per venue at most, whatever the window: a bound on memory at any order rate. */
const MAX_SAMPLES = 50_000;

/** One venue's broker round trips over the sliding window. */
export interface RoundTripWindow {
  readonly venue: string;
  /** Round trips in the window. */
  readonly count: number;
  /** Nearest-rank median, 99th percentile and maximum, in ms; null when the window is empty. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
}

/**
 * Every broker round trip of this instance (submit, cancel, replace: from sending the command to its
 * answer, a timeout included), observed into `gateway_order_stage_seconds{stage="broker_<command>",venue}`
 * and kept per venue over the lockdown's sliding window (LOCKDOWN_WINDOW_MS), which the RTT lockdown
 * reads. `record` is synchronous and O(1) amortised: the order path never waits on it.
 */
@Injectable()
export class BrokerRoundTrips {
  private readonly samples = new Map<string, { at: number[]; ms: number[]; head: number }>();
  private readonly windowMs: number;

  constructor(
    private readonly metrics: GatewayMetrics,
    @Optional() @Inject(GATEWAY_CONFIG) config?: GatewayConfig,
  ) {
    this.windowMs = config?.lockdown.windowMs ?? 10_000;
  }

  /** Records one round trip of `command` to `venue` that started at `start` (now is its answer). */
  record(command: BrokerCommandKind, venue: string, start: StageStart): void {
    const seconds = this.metrics.observeStage(`broker_${command}`, start, venue);
    const now = Date.now();
    let v = this.samples.get(venue);
    if (!v) {
      v = { at: [], ms: [], head: 0 };
      this.samples.set(venue, v);
    }
    v.at.push(now);
    v.ms.push(seconds * 1000);
    this.prune(v, now);
  }

  /** The venues that have had a round trip since this process started. */
  venues(): string[] {
    return [...this.samples.keys()];
  }

  /** The venue's round trips of the last LOCKDOWN_WINDOW_MS, as of `now` (epoch ms). */
  window(venue: string, now = Date.now()): RoundTripWindow {
    const v = this.samples.get(venue);
    if (!v) {
      return { venue, count: 0, p50Ms: null, p99Ms: null, maxMs: null };
    }
    this.prune(v, now);
    const ms = v.ms.slice(v.head).sort((a, b) => a - b);
    if (ms.length === 0) {
      return { venue, count: 0, p50Ms: null, p99Ms: null, maxMs: null };
    }
    return {
      venue,
      count: ms.length,
      p50Ms: ms[Math.ceil(ms.length * 0.5) - 1]!,
      p99Ms: ms[Math.ceil(ms.length * 0.99) - 1]!,
      maxMs: ms[ms.length - 1]!,
    };
  }

  private prune(v: { at: number[]; ms: number[]; head: number }, now: number): void {
    const from = now - this.windowMs;
    while (v.head < v.at.length && (v.at[v.head]! < from || v.at.length - v.head > MAX_SAMPLES)) {
      v.head += 1;
    }
    if (v.head > 1024 && v.head * 2 > v.at.length) {
      v.at = v.at.slice(v.head);
      v.ms = v.ms.slice(v.head);
      v.head = 0;
    }
  }
}
