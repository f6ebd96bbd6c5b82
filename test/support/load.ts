import { performance } from 'node:perf_hooks';
import { attempt } from './chaos.js';

/*
 * Order load for e2e tests (kill-switch.test.ts): client loops that place orders back to back, as fast
 * as the gateway answers, each request recorded with when it was sent and answered, so that a test can
 * say which answers came before or after a control request (a halt, a re-arm).
 */

/** One order request of a load client. Times are `performance.now()` ms of the test process. */
export interface LoadRecord {
  readonly client: number;
  /** Index of the gateway (in `urls`) the request went to. */
  readonly instance: number;
  /** The load's `phase` when the request was sent (a test sets it, e.g. to its round number). */
  readonly phase: number;
  readonly clientOrderId: string;
  readonly sentAt: number;
  answeredAt?: number;
  /** HTTP status, or undefined when there was no answer (`failed`). */
  status?: number;
  /** The problem's `code` of an error answer. */
  code?: string;
  /** The order's id: the created order's, or the denied one's (problem `orderId`). */
  orderId?: string;
  failed?: string;
}

export interface OrderLoadOptions {
  /** Gateway base URLs; client `n`'s `i`-th request goes to `urls[(n + i) % urls.length]`. */
  readonly urls: readonly string[];
  readonly token: string;
  /** The orders route, `/v1/accounts/{id}/orders`. */
  readonly path: string;
  readonly clients: number;
  /** Prefix of every clientOrderId (unique per run). */
  readonly prefix: string;
  /** The order body for one request, without `clientOrderId`. */
  readonly body: (client: number, i: number) => Record<string, unknown>;
}

/** Client loops placing orders back to back until `stop()`. */
export class OrderLoad {
  readonly records: LoadRecord[] = [];
  /** Stamped on every request sent from now on. */
  phase = 0;
  private stopping = false;
  private loops: Promise<void>[] = [];
  private readonly listeners = new Set<(r: LoadRecord) => void>();

  constructor(private readonly options: OrderLoadOptions) {}

  start(): void {
    this.loops = Array.from({ length: this.options.clients }, (_, n) => this.loop(n));
  }

  /** Lets every client finish its request in flight, then resolves. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  /** Resolves with the first answered record (from now on) for which `match` holds; rejects after `timeoutMs`. */
  next(match: (r: LoadRecord) => boolean, timeoutMs: number, what: string): Promise<LoadRecord> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (r: LoadRecord) => {
        if (match(r)) {
          clearTimeout(timer);
          this.listeners.delete(listener);
          resolve(r);
        }
      };
      this.listeners.add(listener);
    });
  }

  /** Records sent before `t` that have no answer yet. */
  inFlightBefore(t: number): LoadRecord[] {
    return this.records.filter((r) => r.sentAt < t && r.answeredAt === undefined);
  }

  private async loop(client: number): Promise<void> {
    const { urls, token, path, prefix, body } = this.options;
    for (let i = 0; !this.stopping; i++) {
      const instance = (client + i) % urls.length;
      const clientOrderId = `${prefix}-${client}-${i}`;
      const record: LoadRecord = {
        client,
        instance,
        phase: this.phase,
        clientOrderId,
        sentAt: performance.now(),
      };
      this.records.push(record);
      const res = await attempt(urls[instance]!, token, 'POST', path, { clientOrderId, ...body(client, i) });
      record.answeredAt = performance.now();
      if (res.kind === 'failed') {
        record.failed = res.reason;
      } else {
        record.status = res.status;
        record.code = res.body?.code;
        record.orderId = res.status === 201 ? res.body?.id : res.body?.orderId;
      }
      for (const listener of [...this.listeners]) {
        listener(record);
      }
    }
  }
}

/** Nearest-rank percentile (`p` in 0..100) of `values`; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) {
    return Number.NaN;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** `name  n=.. p50=.. p99=.. max=..` (ms, one decimal) for a report table. */
export function latencyLine(name: string, values: readonly number[], width = 44): string {
  const ms = (v: number) => `${v.toFixed(1)} ms`.padStart(10);
  return (
    `  ${name.padEnd(width)} n=${String(values.length).padStart(3)}  p50 ${ms(percentile(values, 50))}` +
    `  p99 ${ms(percentile(values, 99))}  max ${ms(Math.max(...values))}`
  );
}
