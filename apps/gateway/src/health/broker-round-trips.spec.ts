import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../config/config.js';
import { BrokerRoundTrips } from './broker-round-trips.js';
import { GatewayMetrics } from './metrics.js';

/** A round trip of `ms` that ended now (its start `ms` earlier on the monotonic clock). */
const startedAgo = (ms: number) => process.hrtime.bigint() - BigInt(Math.round(ms * 1e6));

describe('BrokerRoundTrips', () => {
  it('keeps each venue’s round trips over the window: count, nearest-rank p99 and max', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const metrics = new GatewayMetrics();
      const trips = new BrokerRoundTrips(metrics, loadConfig({ LOCKDOWN_WINDOW_MS: '1000' }));
      for (let i = 1; i <= 200; i += 1) {
        trips.record('submit', 'paper', startedAgo(i)); // 1 … 200 ms
      }
      trips.record('cancel', 'alpaca', startedAgo(7));
      const paper = trips.window('paper');
      expect(paper.count).toBe(200);
      expect(paper.p99Ms).toBeGreaterThanOrEqual(198);
      expect(paper.p99Ms).toBeLessThan(199);
      expect(paper.maxMs).toBeGreaterThanOrEqual(200);
      expect(trips.window('alpaca')).toMatchObject({ count: 1 });
      expect(trips.venues().sort()).toEqual(['alpaca', 'paper']);
      // Every round trip is a stage observation too.
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/gateway_order_stage_seconds_count\{[^}]*stage="broker_submit",venue="paper"[^}]*\} 200/);
      expect(text).toMatch(/gateway_order_stage_seconds_count\{[^}]*stage="broker_cancel",venue="alpaca"[^}]*\} 1/);

      vi.setSystemTime(Date.now() + 1_001);
      expect(trips.window('paper')).toEqual({ venue: 'paper', count: 0, p50Ms: null, p99Ms: null, maxMs: null });
      metrics.onModuleDestroy();
    } finally {
      vi.useRealTimers();
    }
  });
});
