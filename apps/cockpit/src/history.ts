import type { CockpitFrame } from '../../monitor/src/frame.js';

/** Points kept per series: two minutes at four frames a second. */
export const HISTORY_POINTS = 480;

/** Time series for the charts: x in seconds (uPlot's unit), one array per named series, null for a gap. */
export class History {
  readonly x: number[] = [];
  private readonly series = new Map<string, (number | null)[]>();

  push(frame: CockpitFrame, values: Record<string, number | null>): void {
    this.x.push(frame.at / 1_000);
    for (const name of Object.keys(values)) {
      if (!this.series.has(name)) {
        this.series.set(name, new Array<number | null>(this.x.length - 1).fill(null));
      }
    }
    for (const [name, points] of this.series) {
      points.push(values[name] ?? null);
    }
    if (this.x.length > HISTORY_POINTS) {
      this.x.shift();
      for (const points of this.series.values()) {
        points.shift();
      }
    }
  }

  /** The names with this prefix, sorted, and uPlot's data for them. */
  data(prefix: string): { names: string[]; data: [number[], ...(number | null)[][]] } {
    const names = [...this.series.keys()].filter((n) => n.startsWith(prefix)).sort();
    return { names, data: [this.x, ...names.map((n) => this.series.get(n) ?? [])] };
  }
}

/** What each frame adds to the charts. */
export function chartValues(frame: CockpitFrame): Record<string, number | null> {
  const values: Record<string, number | null> = {};
  // The lockdown's exact window where it runs; the submit histogram's bucket estimates otherwise.
  const rtt = frame.rtt ?? [];
  if (rtt.length > 0) {
    for (const v of rtt) {
      values[`rtt:${v.venue} p50`] = v.p50Ms;
      values[`rtt:${v.venue} p99`] = v.p99Ms;
      values[`rtt:${v.venue} max`] = v.maxMs;
      if (v.thresholdMs !== null) {
        values[`rtt:${v.venue} threshold`] = v.thresholdMs;
      }
    }
  } else {
    for (const v of frame.venues) {
      const venue = v.labels.venue ?? 'unknown';
      values[`rtt:${venue} p50`] = v.p50Ms;
      values[`rtt:${venue} p99`] = v.p99Ms;
      values[`rtt:${venue} max`] = v.maxMs;
    }
  }
  for (const h of frame.histograms) {
    if (h.name === 'gateway_order_stage_seconds' && h.labels.stage) {
      values[`stage:${h.labels.stage}${h.labels.venue ? ` ${h.labels.venue}` : ''}`] = h.p99Ms;
    }
  }
  for (const i of frame.instances.filter((x) => x.up)) {
    const name = shortInstance(i.instance);
    values[`loop:${name} p99`] = i.process.eventLoop.p99Ms;
    values[`loop:${name} max`] = i.process.eventLoop.maxMs;
    values[`cpu:${name}`] = i.process.cpuPercent;
    i.process.cpuCores.forEach((c, n) => (values[`core:core ${n}`] = c));
  }
  const accounts = frame.state?.accounts ?? [];
  values['exec:orders/s'] = accounts.reduce((s, a) => s + a.execution.ordersPerSecond, 0);
  values['exec:working'] = accounts.reduce((s, a) => s + a.execution.working, 0);
  return values;
}

export function shortInstance(instance: string): string {
  const [host, pid] = instance.split(':');
  return `${host ?? instance}:${pid ?? ''}`;
}
