import type { Registry } from 'prom-client';
import type { CounterValue, HistogramDelta } from './snapshot.js';

/** Only the gateway's own series go into a snapshot (the process and Node.js ones are in `/metrics`). */
const OWN_PREFIX = 'gateway_';
/** The registry's default label, the same on every series: left out of the snapshot. */
const DEFAULT_LABELS = new Set(['environments']);

interface Cumulative {
  readonly buckets: number[];
  readonly counts: number[];
  readonly sum: number;
  readonly count: number;
}

type MetricJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>[number];

function labelKey(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

function ownLabels(labels: Record<string, string | number | undefined>, drop: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (k !== drop && !DEFAULT_LABELS.has(k) && v !== undefined) {
      out[k] = String(v);
    }
  }
  return out;
}

/**
 * Reads the metrics registry for a snapshot: every `gateway_*` counter and gauge as it stands and every
 * `gateway_*` histogram as the observations since the previous read (its cumulative buckets minus
 * those seen last time), so whatever the order path adds to the registry (stage histograms, ...) shows
 * up here without a change. Histograms with no observation in the interval are left out.
 */
export class MetricsSampler {
  private readonly previous = new Map<string, Cumulative>();

  constructor(private readonly registry: Registry) {}

  async sample(): Promise<{ counters: CounterValue[]; gauges: CounterValue[]; histograms: HistogramDelta[] }> {
    const metrics = await this.registry.getMetricsAsJSON();
    const counters: CounterValue[] = [];
    const gauges: CounterValue[] = [];
    const histograms: HistogramDelta[] = [];
    for (const metric of metrics) {
      if (!metric.name.startsWith(OWN_PREFIX)) {
        continue;
      }
      if (String(metric.type) === 'counter') {
        for (const v of metric.values) {
          counters.push({ name: metric.name, labels: ownLabels(v.labels, null), value: v.value });
        }
      } else if (String(metric.type) === 'gauge') {
        for (const v of metric.values) {
          gauges.push({ name: metric.name, labels: ownLabels(v.labels, null), value: v.value });
        }
      } else if (String(metric.type) === 'histogram') {
        histograms.push(...this.histogramDeltas(metric));
      }
    }
    return { counters, gauges, histograms };
  }

  private histogramDeltas(metric: MetricJson): HistogramDelta[] {
    const series = new Map<
      string,
      { labels: Record<string, string>; buckets: number[]; counts: number[]; sum: number; count: number }
    >();
    const entry = (labels: Record<string, string>) => {
      const key = labelKey(labels);
      let s = series.get(key);
      if (!s) {
        s = { labels, buckets: [], counts: [], sum: 0, count: 0 };
        series.set(key, s);
      }
      return s;
    };
    for (const v of metric.values) {
      const name = (v as { metricName?: string }).metricName ?? '';
      const labels = ownLabels(v.labels, 'le');
      const s = entry(labels);
      if (name.endsWith('_bucket')) {
        const le = v.labels.le;
        if (le !== '+Inf' && le !== undefined) {
          s.buckets.push(Number(le));
        }
        s.counts.push(v.value);
      } else if (name.endsWith('_sum')) {
        s.sum = v.value;
      } else if (name.endsWith('_count')) {
        s.count = v.value;
      }
    }
    const deltas: HistogramDelta[] = [];
    for (const [key, s] of series) {
      const id = `${metric.name}|${key}`;
      const before = this.previous.get(id);
      this.previous.set(id, s);
      const count = s.count - (before?.count ?? 0);
      if (count <= 0) {
        continue;
      }
      // Cumulative bucket counts (le) minus last time's, then per bucket (not cumulative).
      const cumulative = s.counts.map((c, i) => c - (before?.counts[i] ?? 0));
      const counts = cumulative.map((c, i) => c - (i === 0 ? 0 : (cumulative[i - 1] ?? 0)));
      deltas.push({
        name: metric.name,
        labels: s.labels,
        buckets: s.buckets,
        counts,
        sum: s.sum - (before?.sum ?? 0),
        count,
      });
    }
    return deltas;
  }
}
