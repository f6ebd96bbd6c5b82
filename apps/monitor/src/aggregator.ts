import type { Principal } from '../../gateway/src/auth/principal.js';
import type { GatewaySnapshot, HistogramDelta } from '../../gateway/src/monitoring/snapshot.js';
import type { CockpitFrame, CounterValue, InstanceFigures, LatencyFigures, VenueRtt } from './frame.js';

/** The window the latency quantiles are computed over, ms. */
export const LATENCY_WINDOW_MS = 5_000;
/** An instance with no snapshot for this long is shown down; after FORGET_MS it is left out. */
export const INSTANCE_DOWN_MS = 3_000;
const FORGET_MS = 60_000;
/** The broker round trip histogram (per venue). */
const SUBMIT_HISTOGRAM = 'gateway_broker_submit_seconds';

interface Instance {
  last: GatewaySnapshot;
  receivedAt: number;
  /** The histogram deltas of the window, oldest first, with when they came. */
  deltas: { at: number; histograms: readonly HistogramDelta[] }[];
}

/**
 * Every gateway instance's newest snapshot and its histogram deltas of the last LATENCY_WINDOW_MS, and
 * the frame a cockpit client gets from them. Pure bookkeeping: time comes in as an argument.
 */
export class Aggregator {
  private readonly instances = new Map<string, Instance>();

  ingest(snapshot: GatewaySnapshot, now: number): void {
    const known = this.instances.get(snapshot.instance);
    const instance = known ?? { last: snapshot, receivedAt: now, deltas: [] };
    instance.last = snapshot;
    instance.receivedAt = now;
    if (snapshot.histograms.length > 0) {
      instance.deltas.push({ at: now, histograms: snapshot.histograms });
    }
    this.instances.set(snapshot.instance, instance);
  }

  /** How many instances sent a snapshot within INSTANCE_DOWN_MS. */
  upCount(now: number): number {
    return [...this.instances.values()].filter((i) => now - i.receivedAt < INSTANCE_DOWN_MS).length;
  }

  /** The frame for everyone (accounts all in): cut it down per client with `forPrincipal`. */
  frame(now: number): CockpitFrame {
    const live: [string, Instance][] = [];
    for (const [id, instance] of this.instances) {
      if (now - instance.receivedAt > FORGET_MS) {
        this.instances.delete(id);
        continue;
      }
      instance.deltas = instance.deltas.filter((d) => now - d.at <= LATENCY_WINDOW_MS);
      live.push([id, instance]);
    }
    live.sort(([a], [b]) => a.localeCompare(b));
    const up = live.filter(([, i]) => now - i.receivedAt < INSTANCE_DOWN_MS);
    const instances: InstanceFigures[] = live.map(([id, i]) => ({
      instance: id,
      at: i.last.at,
      ageMs: now - i.receivedAt,
      up: now - i.receivedAt < INSTANCE_DOWN_MS,
      seq: i.last.seq,
      dropped: i.last.dropped,
      process: i.last.process,
    }));
    const windowed = up.flatMap(([, i]) => i.deltas.flatMap((d) => d.histograms));
    const freshest = up.reduce<Instance | null>(
      (best, [, i]) => (i.last.state && (!best?.last.state || i.last.state.at > best.last.state.at) ? i : best),
      null,
    );
    const marketSource = up.reduce<Instance | null>(
      (best, [, i]) => (!best || i.last.at > best.last.at ? i : best),
      null,
    );
    return {
      type: 'frame',
      at: now,
      instances,
      venues: latencies(
        windowed.filter((h) => h.name === SUBMIT_HISTOGRAM),
        (h) => ({ venue: h.labels.venue ?? 'unknown' }),
      ),
      rtt: venueRtt(up.flatMap(([, i]) => [i.last.gauges ?? []])),
      histograms: latencies(
        windowed.filter((h) => h.name !== SUBMIT_HISTOGRAM),
        (h) => h.labels,
      ),
      counters: sumCounters(up.flatMap(([, i]) => i.last.counters)),
      brokers: up.flatMap(([id, i]) => i.last.brokers.map((b) => ({ ...b, instance: id }))),
      market: marketSource?.last.market ?? [],
      book: marketSource?.last.book ?? null,
      state: freshest?.last.state ?? null,
    };
  }
}

/**
 * The frame as `principal` may see it: only the accounts its token is granted (`accounts` claim) in an
 * environment it has (`environments` claim). Database grants are not consulted: the monitor reads no
 * database after its start.
 */
export function forPrincipal(frame: CockpitFrame, principal: Principal): CockpitFrame {
  if (!frame.state) {
    return frame;
  }
  return {
    ...frame,
    state: {
      ...frame.state,
      accounts: frame.state.accounts.filter(
        (a) => principal.canSeeAccount(a.id) && principal.canUseEnvironment(a.environment),
      ),
    },
  };
}

const RTT_WINDOW = 'gateway_broker_rtt_window_seconds';
const RTT_COUNT = 'gateway_broker_rtt_window_count';
const LOCKDOWN_ACTIVE = 'gateway_lockdown_active';
const LOCKDOWN_THRESHOLD = 'gateway_lockdown_threshold_seconds';

/** The venues' lockdown windows from each instance's gauges (one array per instance). */
export function venueRtt(instances: readonly (readonly CounterValue[])[]): VenueRtt[] {
  const venues = new Map<
    string,
    {
      count: number;
      p50Ms: number | null;
      p99Ms: number | null;
      maxMs: number | null;
      thresholdMs: number | null;
      locked: boolean;
    }
  >();
  const of = (venue: string) => {
    let v = venues.get(venue);
    if (!v) {
      v = { count: 0, p50Ms: null, p99Ms: null, maxMs: null, thresholdMs: null, locked: false };
      venues.set(venue, v);
    }
    return v;
  };
  const higher = (a: number | null, b: number) => (a === null || b > a ? round(b) : a);
  for (const gauges of instances) {
    const counts = new Map(gauges.filter((g) => g.name === RTT_COUNT).map((g) => [g.labels.venue, g.value]));
    for (const g of gauges) {
      const venue = g.labels.venue;
      if (venue === undefined) {
        continue;
      }
      if (g.name === LOCKDOWN_THRESHOLD) {
        of(venue).thresholdMs = round(g.value * 1_000);
      } else if (g.name === LOCKDOWN_ACTIVE) {
        of(venue).locked ||= g.value === 1;
      } else if (g.name === RTT_COUNT) {
        of(venue).count += g.value;
      } else if (g.name === RTT_WINDOW && (counts.get(venue) ?? 0) > 0) {
        // The window gauges keep their last figures when the window empties: only a non-empty one counts.
        const v = of(venue);
        const ms = g.value * 1_000;
        if (g.labels.quantile === '0.5') {
          v.p50Ms = higher(v.p50Ms, ms);
        } else if (g.labels.quantile === '0.99') {
          v.p99Ms = higher(v.p99Ms, ms);
        } else if (g.labels.quantile === '1') {
          v.maxMs = higher(v.maxMs, ms);
        }
      }
    }
  }
  return [...venues.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([venue, v]) => ({ venue, ...v }));
}

function sumCounters(values: readonly CounterValue[]): CounterValue[] {
  const sums = new Map<string, CounterValue>();
  for (const v of values) {
    const key = `${v.name}|${JSON.stringify(v.labels)}`;
    const prev = sums.get(key);
    sums.set(key, { name: v.name, labels: v.labels, value: (prev?.value ?? 0) + v.value });
  }
  return [...sums.values()];
}

/** Sums the deltas by `group` (name and the labels it returns) and estimates their quantiles. */
export function latencies(
  deltas: readonly HistogramDelta[],
  group: (h: HistogramDelta) => Readonly<Record<string, string>>,
): LatencyFigures[] {
  const groups = new Map<
    string,
    {
      name: string;
      labels: Readonly<Record<string, string>>;
      buckets: readonly number[];
      counts: number[];
      sum: number;
      count: number;
    }
  >();
  for (const h of deltas) {
    const labels = group(h);
    const key = `${h.name}|${JSON.stringify(labels)}|${h.buckets.join(',')}`;
    let g = groups.get(key);
    if (!g) {
      g = { name: h.name, labels, buckets: h.buckets, counts: h.counts.map(() => 0), sum: 0, count: 0 };
      groups.set(key, g);
    }
    h.counts.forEach((c, i) => (g.counts[i] = (g.counts[i] ?? 0) + c));
    g.sum += h.sum;
    g.count += h.count;
  }
  return [...groups.values()].map((g) => ({
    name: g.name,
    labels: g.labels,
    count: g.count,
    p50Ms: quantileMs(g.buckets, g.counts, 0.5),
    p99Ms: quantileMs(g.buckets, g.counts, 0.99),
    maxMs: maxMs(g.buckets, g.counts),
    meanMs: g.count > 0 ? round((g.sum / g.count) * 1_000) : null,
    windowMs: LATENCY_WINDOW_MS,
  }));
}

const round = (n: number): number => Math.round(n * 1_000) / 1_000;

/**
 * The q-quantile of per-bucket counts (`counts[i]` over `(buckets[i-1], buckets[i]]`, the last over
 * `+Inf`), in ms, interpolated linearly inside its bucket from 0 for the first; the largest bound when
 * it falls in `+Inf`. Null without observations.
 */
export function quantileMs(buckets: readonly number[], counts: readonly number[], q: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) {
    return null;
  }
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] ?? 0;
    if (c > 0 && seen + c >= rank) {
      if (i >= buckets.length) {
        return round((buckets[buckets.length - 1] ?? 0) * 1_000);
      }
      const lower = i === 0 ? 0 : (buckets[i - 1] ?? 0);
      const upper = buckets[i] ?? lower;
      return round((lower + ((upper - lower) * (rank - seen)) / c) * 1_000);
    }
    seen += c;
  }
  return round((buckets[buckets.length - 1] ?? 0) * 1_000);
}

function maxMs(buckets: readonly number[], counts: readonly number[]): number | null {
  for (let i = counts.length - 1; i >= 0; i--) {
    if ((counts[i] ?? 0) > 0) {
      return round((buckets[Math.min(i, buckets.length - 1)] ?? 0) * 1_000);
    }
  }
  return null;
}
