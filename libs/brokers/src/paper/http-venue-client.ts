import { context, propagation } from '@opentelemetry/api';
import { ExponentialBackoff, handleAll, noJitterGenerator, retry } from 'cockatiel';
import { Decimal } from '@gateway/oms';
import { z } from 'zod';
import type {
  CancelOrderCommand,
  CancelResult,
  ConnectionChange,
  ConnectionListener,
  ExecutionClient,
  ExecutionReportListener,
  PositionReport,
  ReplaceOrderCommand,
  ReplaceResult,
  SubmitOrderCommand,
  SubmitResult,
} from '../execution-client.js';
import type { FillReport, OrderStatusReport } from '../reports.js';
import {
  fillReportFromListing,
  fromWireReport,
  paperFillListingSchema,
  paperOrderRecordSchema,
  paperPositionListingSchema,
  reportsPageSchema,
  statusReportFromRecord,
  toReplaceBody,
  toSubmitBody,
  venueErrorSchema,
} from './paper-venue-wire.js';
import { positionReportFromListing } from './paper-positions.js';

/** Configuration of an HttpVenueClient. Defaults in brackets. */
export interface HttpVenueClientConfig {
  /** The fake broker's base URL, e.g. `http://127.0.0.1:4010`. */
  readonly baseUrl: string;
  /**
   * The venue name this client stands for ['paper']: stamped on every report it delivers, so a paper-venue
   * process can stand in for another broker (`alpaca`) with its orders and executions under that name.
   */
  readonly venue?: string;
  /** How long one report long poll may wait at the venue, ms [20 000]; the venue caps it at 25 000. */
  readonly pollWaitMs?: number;
  /** Backoff while the venue is unreachable: first and largest delay, ms [100, 5 000]; it doubles. */
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
  /** Timeout of the reconciliation requests, which have no caller signal, ms [10 000]. */
  readonly requestTimeoutMs?: number;
  /** Receives listener errors and report-stream trouble (the stream goes on) [console.error]. */
  readonly onError?: (error: unknown) => void;
}

/** Where the report stream starts: after the venue's current last seq (default), or after a seq delivered before. */
export interface HttpVenueClientStartOptions {
  readonly afterSeq?: number;
}

/** What one HTTP exchange gave: an answer (status and parsed JSON body, or null), or a failure to get one. */
type Exchange =
  | { readonly kind: 'answered'; readonly status: number; readonly body: unknown }
  | { readonly kind: 'failed'; readonly reason: string };

const acceptedOrderSchema = z.object({ brokerOrderId: z.string().min(1) });
const acceptedReplaceSchema = z.object({
  order: z.object({ brokerOrderId: z.string().min(1), quantity: z.string() }),
});

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}

/**
 * The ExecutionClient of the paper venue's fake broker (apps/paper-venue) over HTTP, with global `fetch`.
 * Commands never throw for a broker answer: 200/201 with an order id → `accepted`; 422 → `rejected` (the
 * venue's message); any other status, a 2xx without an order id, a network error, or an abort once the
 * request may have left → `unknown`. An abort before sending → `rejected` ("aborted before sending").
 *
 * Reports: `start()` long-polls `GET /v1/reports` and delivers each report to the listeners in seq order,
 * once: it resumes after the last seq it delivered when the venue comes back (retrying with a capped
 * backoff meanwhile), and starts again at seq 1 when the venue's log was restarted (`logId` changed),
 * reporting that through onError (that venue lost its book too). `close()` stops it.
 * Reconciliation reads map the GET routes and throw when the venue does not answer usefully, except
 * `getOrderByClientOrderId`, which answers null on 404.
 * Connection: the report stream is the client's line to the venue; its first failure tells the
 * connection listeners `connected: false` (with the error), its first answer after that `connected: true`.
 */
export class HttpVenueClient implements ExecutionClient {
  readonly venue: string;
  readonly supportsClientOrderId = true;

  private readonly baseUrl: string;
  private readonly pollWaitMs: number;
  /** Backoff while the venue is unreachable: doubling from retryInitialMs up to retryMaxMs, no jitter. */
  private readonly backoff: ExponentialBackoff<number>;
  private readonly requestTimeoutMs: number;
  private readonly onError: (error: unknown) => void;
  private readonly listeners = new Set<ExecutionReportListener>();
  private readonly connectionListeners = new Set<ConnectionListener>();
  /** As last told to the connection listeners (connected until the stream first fails). */
  private connected = true;
  private readonly stopping = new AbortController();
  private cursor = 0;
  private logId: string | null = null;
  private loop: Promise<void> | null = null;
  /** Resolves when the first listener subscribes: reports are not fetched before anyone can take them. */
  private listening!: () => void;
  private readonly firstListener = new Promise<void>((resolve) => (this.listening = resolve));

  constructor(config: HttpVenueClientConfig) {
    this.baseUrl = config.baseUrl.replace(/\/+$/, '');
    this.venue = config.venue ?? 'paper';
    this.pollWaitMs = config.pollWaitMs ?? 20_000;
    this.backoff = new ExponentialBackoff({
      initialDelay: config.retryInitialMs ?? 100,
      maxDelay: config.retryMaxMs ?? 5_000,
      generator: noJitterGenerator,
    });
    this.requestTimeoutMs = config.requestTimeoutMs ?? 10_000;
    this.onError = config.onError ?? ((error) => console.error('[http-venue-client]', error));
  }

  // ---- commands ----

  /** `POST /v1/orders`. */
  async submitOrder(command: SubmitOrderCommand, signal?: AbortSignal): Promise<SubmitResult> {
    if (signal?.aborted) {
      return { kind: 'rejected', reason: 'aborted before sending', raw: null };
    }
    const answer = await this.send('POST', '/v1/orders', toSubmitBody(command), signal);
    if (answer.kind === 'failed') {
      return { kind: 'unknown', reason: answer.reason };
    }
    if (answer.status === 200 || answer.status === 201) {
      const accepted = acceptedOrderSchema.safeParse(answer.body);
      return accepted.success
        ? { kind: 'accepted', brokerOrderId: accepted.data.brokerOrderId, raw: answer.body }
        : { kind: 'unknown', reason: `venue answered HTTP ${answer.status} without an order id` };
    }
    return this.refusedOrUnknown(answer);
  }

  /** `DELETE /v1/orders/{brokerOrderId}?client_order_id=`. */
  async cancelOrder(command: CancelOrderCommand, signal?: AbortSignal): Promise<CancelResult> {
    if (signal?.aborted) {
      return { kind: 'rejected', reason: 'aborted before sending', raw: null };
    }
    const path = `/v1/orders/${encodeURIComponent(command.brokerOrderId)}?client_order_id=${encodeURIComponent(command.clientOrderId)}`;
    const answer = await this.send('DELETE', path, undefined, signal);
    if (answer.kind === 'failed') {
      return { kind: 'unknown', reason: answer.reason };
    }
    if (answer.status === 200 || answer.status === 202 || answer.status === 204) {
      return { kind: 'accepted', raw: answer.body };
    }
    return this.refusedOrUnknown(answer);
  }

  /** `PATCH /v1/orders/{brokerOrderId}`; `accepted` carries the replacement's id and booked quantity. */
  async replaceOrder(command: ReplaceOrderCommand, signal?: AbortSignal): Promise<ReplaceResult> {
    if (signal?.aborted) {
      return { kind: 'rejected', reason: 'aborted before sending', raw: null };
    }
    const path = `/v1/orders/${encodeURIComponent(command.brokerOrderId)}`;
    const answer = await this.send('PATCH', path, toReplaceBody(command), signal);
    if (answer.kind === 'failed') {
      return { kind: 'unknown', reason: answer.reason };
    }
    if (answer.status === 200 || answer.status === 201) {
      const accepted = acceptedReplaceSchema.safeParse(answer.body);
      if (!accepted.success) {
        return { kind: 'unknown', reason: `venue answered HTTP ${answer.status} without an order id` };
      }
      const { brokerOrderId, quantity } = accepted.data.order;
      let booked: Decimal;
      try {
        booked = new Decimal(quantity);
      } catch {
        return { kind: 'unknown', reason: `venue answered HTTP ${answer.status} without a valid quantity` };
      }
      return { kind: 'accepted', brokerOrderId, quantity: booked, raw: answer.body };
    }
    return this.refusedOrUnknown(answer);
  }

  // ---- reconciliation ----

  /** `GET /v1/orders:by_client_order_id`: null on 404; throws Error when the venue gives no usable answer. */
  async getOrderByClientOrderId(clientOrderId: string): Promise<OrderStatusReport | null> {
    const answer = await this.read(
      `/v1/orders:by_client_order_id?client_order_id=${encodeURIComponent(clientOrderId)}`,
    );
    if (answer.status === 404) {
      return null;
    }
    return statusReportFromRecord(this.expect(answer, paperOrderRecordSchema));
  }

  /** `GET /v1/orders?since=`; throws Error when the venue gives no usable answer. */
  async listOrders(sinceMs: number): Promise<OrderStatusReport[]> {
    const answer = await this.read(`/v1/orders?since=${sinceMs}`);
    return this.expect(answer, z.array(paperOrderRecordSchema)).map(statusReportFromRecord);
  }

  /** `GET /v1/fills?since=`; throws Error when the venue gives no usable answer. */
  async listFills(sinceMs: number): Promise<FillReport[]> {
    const answer = await this.read(`/v1/fills?since=${sinceMs}`);
    return this.expect(answer, z.array(paperFillListingSchema)).map(fillReportFromListing);
  }

  /** `GET /v1/positions`: the venue's open positions (of every account it serves); throws Error when unusable. */
  async positions(): Promise<PositionReport[]> {
    const answer = await this.read('/v1/positions');
    return this.expect(answer, z.array(paperPositionListingSchema)).map(positionReportFromListing);
  }

  // ---- reports ----

  /**
   * Subscribes to the report stream. The stream fetches nothing until the first listener subscribes, so
   * a client started before its consumer is wired loses no report (the cursor is fixed by start()).
   */
  onExecutionReport(listener: ExecutionReportListener): () => void {
    this.listeners.add(listener);
    this.listening();
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Subscribes to the connection's changes (the report stream lost, or back). */
  onConnectionChange(listener: ConnectionListener): () => void {
    this.connectionListeners.add(listener);
    return () => {
      this.connectionListeners.delete(listener);
    };
  }

  /** Whether the report stream last reached the venue (true until it first fails). */
  isConnected(): boolean {
    return this.connected;
  }

  /**
   * Starts the report stream: after `afterSeq` when given (a seq delivered before, to resume without loss),
   * else after the venue's current last seq (read with `after=-1`, retried until the venue answers).
   * Resolves once the starting point is known. Throws Error when started twice or after close().
   */
  async start(options: HttpVenueClientStartOptions = {}): Promise<void> {
    if (this.loop !== null || this.stopping.signal.aborted) {
      throw new Error('HttpVenueClient.start(): already started or closed');
    }
    this.loop = Promise.resolve(); // taken: a second start() fails even while the first one waits
    if (options.afterSeq !== undefined) {
      if (!Number.isInteger(options.afterSeq) || options.afterSeq < 0) {
        throw new RangeError(`HttpVenueClient.start(): afterSeq must be an integer ≥ 0, got ${options.afterSeq}`);
      }
      this.cursor = options.afterSeq;
    } else {
      const page = await this.withRetry(() => this.fetchReports(-1, 0));
      if (page === null) {
        return; // closed while waiting for the venue
      }
      this.logId = page.logId;
      this.cursor = page.lastSeq;
    }
    this.loop = this.poll().catch((error: unknown) => this.onError(error));
  }

  /** The seq of the last report delivered to the listeners (where a restarted client resumes). */
  deliveredSeq(): number {
    return this.cursor;
  }

  /** Stops the report stream (an in-flight poll is aborted); resolves when it has stopped. */
  async close(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  // ---- machinery ----

  private async poll(): Promise<void> {
    await Promise.race([
      this.firstListener,
      new Promise((resolve) => this.stopping.signal.addEventListener('abort', resolve)),
    ]);
    while (!this.stopping.signal.aborted) {
      const page = await this.withRetry(() => this.fetchReports(this.cursor, this.pollWaitMs));
      if (page === null) {
        return;
      }
      if (this.logId !== null && page.logId !== this.logId) {
        this.onError(new Error(`paper venue report log restarted (${this.logId} → ${page.logId}): resuming at seq 1`));
        this.logId = page.logId;
        this.cursor = 0;
        continue;
      }
      this.logId = page.logId;
      for (const { seq, report } of page.reports) {
        if (seq <= this.cursor) {
          continue; // already delivered
        }
        if (seq !== this.cursor + 1) {
          this.onError(new Error(`paper venue report gap: expected seq ${this.cursor + 1}, got ${seq}`));
          break;
        }
        this.deliver({ ...fromWireReport(report), venue: this.venue });
        this.cursor = seq;
      }
    }
  }

  private deliver(report: Parameters<ExecutionReportListener>[0]): void {
    for (const listener of this.listeners) {
      try {
        listener(report);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  private async fetchReports(after: number, waitMs: number): Promise<z.infer<typeof reportsPageSchema>> {
    const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(waitMs + this.requestTimeoutMs)]);
    const answer = await this.send('GET', `/v1/reports?after=${after}&wait_ms=${waitMs}`, undefined, signal);
    if (answer.kind === 'failed') {
      throw new Error(`paper venue reports: ${answer.reason}`);
    }
    if (answer.status !== 200) {
      throw new Error(`paper venue reports: HTTP ${answer.status}`);
    }
    const page = reportsPageSchema.safeParse(answer.body);
    if (!page.success) {
      throw new Error(`paper venue reports: unexpected payload: ${page.error.message}`);
    }
    this.tellConnection({ connected: true });
    return page.data;
  }

  /** Tells the connection listeners of a change (nothing when it is no change, or once closing). */
  private tellConnection(change: ConnectionChange): void {
    if (change.connected === this.connected || this.stopping.signal.aborted) {
      return;
    }
    this.connected = change.connected;
    for (const listener of this.connectionListeners) {
      try {
        listener(change);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  /**
   * Runs `attempt` until it succeeds (the retry policy's backoff) or the client closes (null, at once).
   * The first failure of an outage goes to onError, not every retry.
   */
  private withRetry<T>(attempt: () => Promise<T>): Promise<T | null> {
    const stopping = this.stopping.signal;
    if (stopping.aborted) {
      return Promise.resolve(null);
    }
    // Unref'd: a closed client resolves at once (below); its pending backoff timer must not hold the process.
    const policy = retry(handleAll, {
      maxAttempts: Number.POSITIVE_INFINITY,
      backoff: this.backoff,
    }).dangerouslyUnref();
    policy.onRetry((event) => {
      if (event.attempt === 1 && 'error' in event) {
        this.onError(event.error); // once per outage, not once per retry
        this.tellConnection({ connected: false, reason: describe(event.error) });
      }
    });
    return new Promise<T | null>((resolve) => {
      const onAbort = (): void => resolve(null);
      stopping.addEventListener('abort', onAbort, { once: true });
      policy
        .execute(() => attempt(), stopping)
        .then(
          (value) => resolve(value),
          () => resolve(null), // given up only once the client closed
        )
        .finally(() => stopping.removeEventListener('abort', onAbort));
    });
  }

  /** One HTTP exchange; never throws. */
  private async send(method: string, path: string, body: unknown, signal: AbortSignal | undefined): Promise<Exchange> {
    try {
      // The active trace as W3C `traceparent`/`tracestate` (nothing when tracing is off): the venue
      // takes the header, so a trace can follow the order into it.
      const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
      propagation.inject(context.active(), headers);
      const response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal ? { signal } : {}),
      });
      const text = await response.text();
      let parsed: unknown = null;
      if (text !== '') {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
      }
      return { kind: 'answered', status: response.status, body: parsed };
    } catch (error) {
      return {
        kind: 'failed',
        reason: signal?.aborted ? 'aborted while waiting for the venue' : `network error: ${describe(error)}`,
      };
    }
  }

  /** A reconciliation read: throws Error when it gets no answer. */
  private async read(path: string): Promise<{ readonly status: number; readonly body: unknown }> {
    const answer = await this.send('GET', path, undefined, AbortSignal.timeout(this.requestTimeoutMs));
    if (answer.kind === 'failed') {
      throw new Error(`paper venue GET ${path}: ${answer.reason}`);
    }
    return answer;
  }

  private expect<T>(answer: { readonly status: number; readonly body: unknown }, schema: z.ZodType<T>): T {
    if (answer.status !== 200) {
      throw new Error(`paper venue answered HTTP ${answer.status}`);
    }
    const parsed = schema.safeParse(answer.body);
    if (!parsed.success) {
      throw new Error(`paper venue answered an unexpected payload: ${parsed.error.message}`);
    }
    return parsed.data;
  }

  private refusedOrUnknown(answer: {
    readonly status: number;
    readonly body: unknown;
  }): { kind: 'rejected'; reason: string; raw: unknown } | { kind: 'unknown'; reason: string } {
    if (answer.status === 422) {
      const error = venueErrorSchema.safeParse(answer.body);
      return {
        kind: 'rejected',
        reason: error.success ? error.data.message : 'venue refused the request (HTTP 422)',
        raw: answer.body,
      };
    }
    return { kind: 'unknown', reason: `venue answered HTTP ${answer.status}` };
  }
}
