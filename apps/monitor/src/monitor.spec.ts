import { describe, expect, it } from 'vitest';
import type { CounterValue, GatewaySnapshot, HistogramDelta } from '../../gateway/src/monitoring/snapshot.js';
import { Principal } from '../../gateway/src/auth/principal.js';
import { Aggregator, forPrincipal, INSTANCE_DOWN_MS, LATENCY_WINDOW_MS, latencies, quantileMs } from './aggregator.js';
import { slowClientAction } from './cockpit-socket.js';

const BUCKETS = [0.005, 0.01, 0.025];
const delta = (
  counts: number[],
  labels: Record<string, string> = { venue: 'paper', outcome: 'new' },
): HistogramDelta => ({
  name: 'gateway_broker_submit_seconds',
  labels,
  buckets: BUCKETS,
  counts,
  sum: 0.01 * counts.reduce((a, b) => a + b, 0),
  count: counts.reduce((a, b) => a + b, 0),
});

function snapshot(instance: string, at: number, histograms: HistogramDelta[] = []): GatewaySnapshot {
  return {
    v: 1,
    instance,
    at,
    seq: 1,
    dropped: 0,
    process: {
      cpuPercent: 1,
      cpuCores: [1],
      rssBytes: 1,
      heapUsedBytes: 1,
      eventLoop: { p50Ms: 0, p99Ms: 1, maxMs: 2 },
      uptimeSeconds: 1,
    },
    counters: [{ name: 'gateway_orders_total', labels: { outcome: 'created' }, value: 2 }],
    histograms,
    brokers: [],
    market: [],
    state: null,
  };
}

describe('quantileMs', () => {
  it('interpolates inside the bucket the rank falls in, as histogram_quantile does', () => {
    // 10 observations ≤ 5 ms, 10 in (5, 10] ms: the median is the 5 ms bound, p75 half way to 10 ms.
    expect(quantileMs(BUCKETS, [10, 10, 0, 0], 0.5)).toBe(5);
    expect(quantileMs(BUCKETS, [10, 10, 0, 0], 0.75)).toBe(7.5);
    expect(quantileMs(BUCKETS, [0, 0, 0, 0], 0.5)).toBeNull();
    // In +Inf: the largest bound.
    expect(quantileMs(BUCKETS, [0, 0, 0, 3], 0.99)).toBe(25);
  });
});

describe('Aggregator', () => {
  it('sums the venues over instances and outcomes within the window, and marks a silent instance down', () => {
    const agg = new Aggregator();
    agg.ingest(snapshot('a', 0, [delta([1, 0, 0, 0])]), 0);
    agg.ingest(snapshot('b', 100, [delta([0, 1, 0, 0], { venue: 'paper', outcome: 'rejected' })]), 100);
    let frame = agg.frame(200);
    expect(frame.venues).toHaveLength(1);
    expect(frame.venues[0]).toMatchObject({ labels: { venue: 'paper' }, count: 2, maxMs: 10 });
    expect(frame.counters).toEqual([{ name: 'gateway_orders_total', labels: { outcome: 'created' }, value: 4 }]);
    // Past the window the observations are gone; past INSTANCE_DOWN_MS the instance shows down.
    agg.ingest(snapshot('b', LATENCY_WINDOW_MS + 500), LATENCY_WINDOW_MS + 500);
    frame = agg.frame(LATENCY_WINDOW_MS + 500);
    expect(frame.venues).toEqual([]);
    expect(frame.instances.map((i) => [i.instance, i.up])).toEqual([
      ['a', INSTANCE_DOWN_MS > LATENCY_WINDOW_MS + 500],
      ['b', true],
    ]);
  });

  it('groups other histograms by their labels', () => {
    const stage = { ...delta([2, 0, 0, 0]), name: 'gateway_order_stage_seconds', labels: { stage: 'risk' } };
    expect(latencies([stage], (h) => h.labels)[0]).toMatchObject({ labels: { stage: 'risk' }, count: 2, p50Ms: 2.5 });
  });
});

describe('the RTT lockdown window per venue', () => {
  const gauges = (
    venue: string,
    count: number,
    p50: number,
    p99: number,
    max: number,
    locked: number,
  ): CounterValue[] => [
    { name: 'gateway_lockdown_threshold_seconds', labels: { venue }, value: 0.05 },
    { name: 'gateway_lockdown_active', labels: { venue }, value: locked },
    { name: 'gateway_broker_rtt_window_count', labels: { venue }, value: count },
    { name: 'gateway_broker_rtt_window_seconds', labels: { venue, quantile: '0.5' }, value: p50 },
    { name: 'gateway_broker_rtt_window_seconds', labels: { venue, quantile: '0.99' }, value: p99 },
    { name: 'gateway_broker_rtt_window_seconds', labels: { venue, quantile: '1' }, value: max },
  ];

  it('takes the highest instance figures, sums the round trips, and is locked when any instance is', () => {
    const agg = new Aggregator();
    agg.ingest({ ...snapshot('a', 0), gauges: gauges('paper', 10, 0.002, 0.004, 0.006, 0) }, 0);
    agg.ingest({ ...snapshot('b', 0), gauges: gauges('paper', 5, 0.001, 0.07, 0.09, 1) }, 0);
    // An instance whose window is empty keeps stale figures in its gauges: they are not taken.
    agg.ingest({ ...snapshot('c', 0), gauges: gauges('paper', 0, 0.5, 0.5, 0.5, 0) }, 0);
    expect(agg.frame(10).rtt).toEqual([
      { venue: 'paper', count: 15, p50Ms: 2, p99Ms: 70, maxMs: 90, thresholdMs: 50, locked: true },
    ]);
  });

  it('is empty for instances that carry no gauges', () => {
    const agg = new Aggregator();
    agg.ingest(snapshot('a', 0), 0);
    expect(agg.frame(10).rtt).toEqual([]);
  });
});

describe('slowClientAction', () => {
  const options = { maxBufferedBytes: 1_000, slowClientMs: 5_000 };

  it('sends while the buffer is under the cap, skips while over, and closes after slowClientMs of skipping', () => {
    const state = { skippingSince: null, skipped: 0 };
    expect(slowClientAction(state, 500, 0, options)).toBe('send');
    expect(slowClientAction(state, 5_000, 1_000, options)).toBe('skip');
    expect(slowClientAction(state, 5_000, 5_999, options)).toBe('skip');
    expect(slowClientAction(state, 5_000, 6_000, options)).toBe('close');
    expect(state.skipped).toBe(3);
  });

  it('starts counting again once the client has caught up', () => {
    const state = { skippingSince: null, skipped: 0 };
    expect(slowClientAction(state, 5_000, 0, options)).toBe('skip');
    expect(slowClientAction(state, 0, 4_000, options)).toBe('send');
    expect(slowClientAction(state, 5_000, 8_000, options)).toBe('skip');
    expect(slowClientAction(state, 5_000, 12_999, options)).toBe('skip');
  });
});

describe('Aggregator: the order book', () => {
  it('relays the book of the newest up instance as its paper replay has it, and none without one', () => {
    const agg = new Aggregator();
    expect(agg.frame(0).book).toBeNull();
    const book = (time: string) => ({
      symbol: 'AAPL',
      date: '2012-06-21',
      time,
      bestBid: '585.33',
      bestAsk: '585.94',
      wobi: 0.1,
      imbalancePercent: 5,
      levels: Array.from({ length: 10 }, () => 0),
    });
    agg.ingest({ ...snapshot('a', 100), book: book('09:30:01.000') }, 100);
    agg.ingest({ ...snapshot('b', 200), book: book('09:30:02.000') }, 200);
    expect(agg.frame(250).book?.time).toBe('09:30:02.000');
    agg.ingest({ ...snapshot('a', 300), book: book('09:30:03.000') }, 300);
    expect(agg.frame(350).book?.time).toBe('09:30:03.000');
  });
});

describe('forPrincipal', () => {
  const account = (id: string, environment: 'paper' | 'live') => ({ id, environment }) as any;
  const frame = {
    ...new Aggregator().frame(0),
    state: {
      at: 0,
      global: {} as any,
      jobs: null,
      accounts: [account('a', 'paper'), account('b', 'paper'), account('c', 'live')],
    },
  };

  it('keeps the accounts the token is granted, in the environments it has', () => {
    const only = new Principal('s', new Set(['viewer']), new Set(['a', 'c']));
    expect(forPrincipal(frame, only).state!.accounts.map((a) => a.id)).toEqual(['a']);
    const all = new Principal('s', new Set(['risk']), '*', new Set(['paper', 'live']));
    expect(forPrincipal(frame, all).state!.accounts.map((a) => a.id)).toEqual(['a', 'b', 'c']);
  });
});
