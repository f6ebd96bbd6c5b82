import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { entropy } from './market-watch.js';
import { MetricsSampler } from './metrics-sampler.js';

describe('MetricsSampler', () => {
  it('reads the gateway counters as they stand and the histograms as the observations since the last read', async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ environments: 'paper' });
    const counter = new Counter({
      name: 'gateway_things_total',
      help: 'x',
      labelNames: ['kind'],
      registers: [registry],
    });
    const histogram = new Histogram({
      name: 'gateway_stage_seconds',
      help: 'x',
      labelNames: ['stage'],
      buckets: [0.001, 0.01],
      registers: [registry],
    });
    const gauge = new Gauge({ name: 'gateway_level', help: 'x', labelNames: ['venue'], registers: [registry] });
    new Counter({ name: 'process_other_total', help: 'x', registers: [registry] }).inc();
    const sampler = new MetricsSampler(registry);
    counter.inc({ kind: 'a' }, 3);
    gauge.set({ venue: 'paper' }, 0.25);
    histogram.observe({ stage: 'risk' }, 0.0005);
    histogram.observe({ stage: 'risk' }, 0.005);
    let sample = await sampler.sample();
    expect(sample.counters).toEqual([{ name: 'gateway_things_total', labels: { kind: 'a' }, value: 3 }]);
    expect(sample.gauges).toEqual([{ name: 'gateway_level', labels: { venue: 'paper' }, value: 0.25 }]);
    expect(sample.histograms).toEqual([
      {
        name: 'gateway_stage_seconds',
        labels: { stage: 'risk' },
        buckets: [0.001, 0.01],
        counts: [1, 1, 0],
        sum: 0.0055,
        count: 2,
      },
    ]);
    // Nothing new: no histogram; one more observation over the last bound: only it.
    expect((await sampler.sample()).histograms).toEqual([]);
    histogram.observe({ stage: 'risk' }, 1);
    sample = await sampler.sample();
    expect(sample.histograms[0]).toMatchObject({ counts: [0, 0, 1], count: 1, sum: 1 });
  });
});

describe('entropy', () => {
  it('is 0 for ticks all one way and log2(3) for an even split of up, down and unchanged', () => {
    expect(entropy(Int8Array.from([1, 1, 1, 1]), 4)).toBe(0);
    expect(entropy(Int8Array.from([1, -1, 0, 1, -1, 0]), 6)).toBeCloseTo(Math.log2(3), 3);
    expect(entropy(Int8Array.from([1, -1, 9, 9]), 2)).toBe(1);
  });
});
