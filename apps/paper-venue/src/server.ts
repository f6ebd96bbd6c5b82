import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { resolve } from 'node:path';
import {
  applyReplayCommand,
  type ExecutionReport,
  MarketReplay,
  packageRoot,
  type VenueAnswer,
  type WireReport,
  fromReplaceBody,
  fromSubmitBody,
  paperPositions,
  replaceBodySchema,
  SqlPaperVenueStore,
  submitBodySchema,
  toWireCommand,
  toWireReport,
  VENUE_BOOK_COMMIT,
} from '@gateway/brokers';
// The paper venue process is a fake broker for the fault tests, so it takes the FaultyVenue from the
// testing entry point. tsconfig.build.json's `**/testing/**` exclude only keeps testing files from being
// built on their own: the files this import reaches are compiled into dist with the app, and tsc-alias
// rewrites the alias; the gateway itself never imports `@gateway/brokers/testing`.
import { FAULT_KINDS, type FaultKind, FaultyVenue, seededRandom } from '@gateway/brokers/testing';
import { DECIMAL_PATTERN, Decimal } from '@gateway/oms';
import pg from 'pg';
import { z } from 'zod';
import { VenueMarketPublisher } from './market-feed.js';

/*
 * The paper venue as a fake broker over HTTP: a FaultyVenue (and its MarketReplay) behind Alpaca-like
 * routes, so that the gateway can be tested against a broker that misbehaves at its own protocol.
 * The venue's book and the report log live in this process's memory: they survive gateway restarts,
 * not a restart of this process (a new process starts empty, with a new report `logId`).
 *
 * With a replay the venue also publishes its market (VenueMarketPublisher, market-feed.ts): gateway
 * instances that share this venue mirror its quotes, clock and depth book instead of replaying the data
 * themselves, so every instance shows one market. Transport: a WebSocket (`ws`), one-way, venue to
 * gateway: `GET /v1/market/stream` sends a snapshot first, then each quote as the replay publishes it and
 * the clock; `GET /v1/market/snapshot` answers the snapshot alone (a gateway's start-up). A WebSocket
 * rather than a long poll like `/v1/reports`: quotes come many a second and only the newest state
 * matters, so a client that drops reconnects and takes a fresh snapshot instead of replaying a log.
 */

/** Longest long poll of `GET /v1/reports`, ms (a larger `wait_ms` is capped to it). */
export const MAX_REPORT_WAIT_MS = 25_000;
/** Most reports in one `GET /v1/reports` answer. */
export const MAX_REPORTS_PER_PAGE = 1_000;

interface LogEntry {
  readonly seq: number;
  readonly report: WireReport;
}

/**
 * Every execution report the venue emitted, in order, with a gapless seq starting at 1; in memory, for
 * the life of the process. Subscribes to the venue at construction, so create it with the venue to miss
 * nothing. Several servers in a row (a simulated blip) can share one log.
 */
export class ReportLog {
  /** Names this log: a client seeing another id knows the seq began again. */
  readonly logId = randomUUID();
  private readonly entries: LogEntry[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly unsubscribe: () => void;

  constructor(venue: { onExecutionReport(listener: (report: ExecutionReport) => void): () => void }) {
    this.unsubscribe = venue.onExecutionReport((report) => this.append(report));
  }

  get lastSeq(): number {
    return this.entries.length;
  }

  /** Entries with seq > `after`, at most `limit`, in seq order. */
  after(after: number, limit = MAX_REPORTS_PER_PAGE): LogEntry[] {
    return this.entries.slice(Math.max(after, 0), Math.max(after, 0) + limit);
  }

  /** Resolves once a report with seq > `after` exists, `ms` have passed, or `signal` aborts. */
  waitFor(after: number, ms: number, signal: AbortSignal): Promise<void> {
    if (this.lastSeq > after || ms <= 0 || signal.aborted) {
      return Promise.resolve();
    }
    return new Promise((done) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        signal.removeEventListener('abort', finish);
        done();
      };
      const wake = (): void => {
        if (this.lastSeq > after) {
          finish();
        }
      };
      const timer = setTimeout(finish, ms);
      this.waiters.add(wake);
      signal.addEventListener('abort', finish, { once: true });
    });
  }

  /** Stops recording. */
  close(): void {
    this.unsubscribe();
  }

  private append(report: ExecutionReport): void {
    this.entries.push({ seq: this.entries.length + 1, report: toWireReport(report) });
    for (const wake of [...this.waiters]) {
      wake();
    }
  }
}

/** Configuration of a PaperVenueServer. */
export interface PaperVenueServerOptions {
  readonly venue: FaultyVenue;
  /** Enables the replay control routes (`/v1/test/replay`). */
  readonly replay?: MarketReplay;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  /** The report log to serve (default: a new one on `venue`, closed with the server). */
  readonly reportLog?: ReportLog;
  /** Largest request body, bytes; default 64 KiB. */
  readonly maxBodyBytes?: number;
}

/** A failure to answer with its status and JSON error body: bad input, an unknown order... */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const faultRuleSchema = z
  .object({
    kind: z.enum(FAULT_KINDS as [FaultKind, ...FaultKind[]]),
    match: z.object({ clientOrderId: z.string().min(1).optional(), symbol: z.string().min(1).optional() }).optional(),
    rate: z.number().min(0).max(1).optional(),
    remaining: z.number().int().min(1).optional(),
    delayMs: z.number().int().min(0).optional(),
    quantity: z.string().regex(DECIMAL_PATTERN).optional(),
  })
  .strict();
const fillBodySchema = z.object({
  quantity: z.string().regex(DECIMAL_PATTERN),
  price: z.string().regex(DECIMAL_PATTERN).nullish(),
});
const stepBodySchema = z.object({ to: z.string().min(1) });
/** `POST /v1/test/replay`: the gateway's replay command (its `/v1/venues/paper/replay`), applied in this order. */
const replayCommandSchema = z.strictObject({
  paused: z.boolean().optional(),
  speed: z.number().min(0).max(10_000).optional(),
  stepTo: z.string().min(1).optional(),
});
const epochMsParam = z.coerce.number().int().min(0);
const afterParam = z.coerce.number().int().min(-1);
const waitParam = z.coerce.number().int().min(0);

const ORDER_PATH = /^\/v1\/orders\/([^/]+)$/;
const TEST_FILL_PATH = /^\/v1\/test\/orders\/([^/]+)\/(fill|late-fill)$/;
const TEST_FAULT_PATH = /^\/v1\/test\/faults\/([^/]+)$/;

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'bad_request', `malformed path segment ${JSON.stringify(segment)}`);
  }
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || what}: ${i.message}`).join('; ');
    throw new HttpError(400, 'bad_request', `invalid ${what}: ${problems}`);
  }
  return parsed.data;
}

function query(url: URL, name: string): string | undefined {
  return url.searchParams.get(name) ?? undefined;
}

/** The record of an accepted order without its id: what `accepted_without_id` answers. */
function withoutId(raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null) {
    return { status: 'accepted' };
  }
  const { brokerOrderId: _brokerOrderId, ...rest } = raw as Record<string, unknown>;
  return rest;
}

/**
 * The fake broker's HTTP server (plain node:http). Routes (JSON, decimals as strings, epoch ms):
 * - `POST /v1/orders` → 201 order record | 422 `{code:'rejected', message}`
 * - `DELETE /v1/orders/{brokerOrderId}?client_order_id=` → 202 | 422
 * - `PATCH /v1/orders/{brokerOrderId}` (new total `quantity`) → 200 `{order}` (the replacement) | 422
 * - `GET /v1/orders:by_client_order_id?client_order_id=` → 200 record | 404
 * - `GET /v1/orders?since=`, `GET /v1/fills?since=` → arrays; `GET /v1/positions` → the open positions
 *   from every fill booked (`paperPositions`: of every account the venue serves together)
 * - `GET /v1/reports?after=&wait_ms=` → `{logId, lastSeq, reports:[{seq, report}]}`, long poll (≤ 25 s)
 * - test control under `/v1/test/`: `received`, `received-replaces`, `faults` (POST, GET, DELETE,
 *   DELETE `faults/{id}`), `fired-faults`, `orders/{clientOrderId}/fill` and `late-fill` (POST),
 *   `replay` (GET state; POST `{paused?, speed?, stepTo?}`: pause, set the speed, step, resume, in that
 *   order; 400 for a time outside the window) and `replay/step` (POST `{to}`).
 * - with a replay, its market: `GET /v1/market/snapshot` → VenueMarketSnapshot, and the WebSocket
 *   `GET /v1/market/stream` (snapshot frame, then `quote` and `clock` frames; libs/brokers
 *   venue-market-wire.ts).
 * Answer faults become HTTP: `ack_lost` acts then drops the connection, `error_after_accept` acts then
 * answers 500, `accepted_without_id` acts then answers 200 without the id, `connection_reset` resets
 * the connection without acting, `ack_delay` acts and answers late. Bad input answers 400, never 500.
 */
export class PaperVenueServer {
  readonly reportLog: ReportLog;
  private readonly venue: FaultyVenue;
  private readonly replay: MarketReplay | undefined;
  /** Publishes the replay's market (null without a replay). */
  readonly market: VenueMarketPublisher | null;
  private readonly host: string;
  private readonly port: number;
  private readonly maxBodyBytes: number;
  private readonly ownsLog: boolean;
  private readonly server: Server;
  private readonly closing = new AbortController();
  private address: AddressInfo | null = null;

  constructor(options: PaperVenueServerOptions) {
    this.venue = options.venue;
    this.replay = options.replay;
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 0;
    this.maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
    this.ownsLog = options.reportLog === undefined;
    this.reportLog = options.reportLog ?? new ReportLog(options.venue);
    this.market = options.replay === undefined ? null : new VenueMarketPublisher(options.replay);
    this.server = createServer((req, res) => {
      this.route(req, res).catch((error: unknown) => this.fail(res, error));
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = new URL(req.url ?? '/', 'http://paper-venue').pathname;
      if (this.market !== null && path === '/v1/market/stream') {
        this.market.handleUpgrade(req, socket, head);
        return;
      }
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    });
  }

  /** Starts listening; resolves with the base URL. */
  listen(): Promise<string> {
    return new Promise((done, failed) => {
      this.server.once('error', failed);
      this.server.listen(this.port, this.host, () => {
        this.server.off('error', failed);
        this.address = this.server.address() as AddressInfo;
        done(this.url);
      });
    });
  }

  /** `http://host:port`; throws Error before listen() resolved. */
  get url(): string {
    if (this.address === null) {
      throw new Error('PaperVenueServer: not listening');
    }
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${host}:${this.address.port}`;
  }

  /** Stops listening, ends pending long polls and drops every connection. The venue is left as it is. */
  close(): Promise<void> {
    this.closing.abort();
    this.market?.close();
    if (this.ownsLog) {
      this.reportLog.close();
    }
    return new Promise((done) => {
      this.server.close(() => done());
      this.server.closeAllConnections();
    });
  }

  // ---- routing ----

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://paper-venue');
    const path = url.pathname;
    const method = req.method ?? 'GET';

    if (path === '/v1/orders') {
      if (method === 'POST') {
        return this.submit(req, res);
      }
      if (method === 'GET') {
        const since = parseWith(epochMsParam, query(url, 'since') ?? '0', 'since');
        return this.send(res, 200, this.venue.orderRecords(since));
      }
      throw this.notAllowed(method, path);
    }
    const order = ORDER_PATH.exec(path);
    if (order !== null) {
      const brokerOrderId = decodeSegment(order[1]!);
      if (method === 'DELETE') {
        return this.cancel(req, res, brokerOrderId, url);
      }
      if (method === 'PATCH') {
        return this.replace(req, res, brokerOrderId);
      }
      throw this.notAllowed(method, path);
    }
    if (method === 'GET' && path === '/v1/orders:by_client_order_id') {
      const clientOrderId = query(url, 'client_order_id');
      if (clientOrderId === undefined || clientOrderId === '') {
        throw new HttpError(400, 'bad_request', 'client_order_id is required');
      }
      const record = this.venue.orderRecord(clientOrderId);
      if (record === null) {
        throw new HttpError(404, 'not_found', `no order with client order id ${JSON.stringify(clientOrderId)}`);
      }
      return this.send(res, 200, record);
    }
    if (method === 'GET' && path === '/v1/fills') {
      const since = parseWith(epochMsParam, query(url, 'since') ?? '0', 'since');
      return this.send(res, 200, this.venue.fillRecords(since));
    }
    if (method === 'GET' && path === '/v1/positions') {
      return this.send(res, 200, paperPositions(this.venue.fillRecords(Number.NEGATIVE_INFINITY)));
    }
    if (method === 'GET' && path === '/v1/reports') {
      return this.reports(res, url);
    }
    if (method === 'GET' && path === '/v1/market/snapshot') {
      if (this.market === null) {
        throw new HttpError(404, 'not_found', 'this server has no replay');
      }
      return this.send(res, 200, this.market.snapshot());
    }
    if (path.startsWith('/v1/test/')) {
      return this.test(req, res, method, path);
    }
    throw new HttpError(404, 'not_found', `no route ${method} ${path}`);
  }

  private async test(req: IncomingMessage, res: ServerResponse, method: string, path: string): Promise<void> {
    const venue = this.venue;
    if (method === 'GET' && path === '/v1/test/received') {
      return this.send(res, 200, venue.receivedOrders().map(toWireCommand));
    }
    if (method === 'GET' && path === '/v1/test/received-replaces') {
      return this.send(res, 200, venue.receivedReplaces().map(toWireCommand));
    }
    if (path === '/v1/test/faults') {
      if (method === 'GET') {
        return this.send(res, 200, venue.faults());
      }
      if (method === 'POST') {
        const rule = parseWith(faultRuleSchema, await this.body(req), 'fault rule');
        try {
          const id = venue.addFault(rule);
          return this.send(res, 201, { ...rule, id });
        } catch (error) {
          throw new HttpError(400, 'bad_request', error instanceof Error ? error.message : String(error));
        }
      }
      if (method === 'DELETE') {
        venue.clearFaults();
        return this.send(res, 204, null);
      }
      throw this.notAllowed(method, path);
    }
    const fault = TEST_FAULT_PATH.exec(path);
    if (fault !== null && method === 'DELETE') {
      if (!venue.removeFault(decodeSegment(fault[1]!))) {
        throw new HttpError(404, 'not_found', 'no such fault');
      }
      return this.send(res, 204, null);
    }
    if (method === 'GET' && path === '/v1/test/fired-faults') {
      return this.send(res, 200, venue.firedFaults());
    }
    const fill = TEST_FILL_PATH.exec(path);
    if (fill !== null && method === 'POST') {
      const clientOrderId = decodeSegment(fill[1]!);
      const body = parseWith(fillBodySchema, await this.body(req), 'fill');
      if (venue.orderRecord(clientOrderId) === null) {
        throw new HttpError(404, 'not_found', `no order with client order id ${JSON.stringify(clientOrderId)}`);
      }
      const quantity = new Decimal(body.quantity);
      const price = body.price === null || body.price === undefined ? undefined : new Decimal(body.price);
      try {
        if (fill[2] === 'fill') {
          venue.forceFill(clientOrderId, quantity, price);
        } else {
          venue.lateFill(clientOrderId, quantity, price);
        }
      } catch (error) {
        throw new HttpError(409, 'conflict', error instanceof Error ? error.message : String(error));
      }
      return this.send(res, 200, venue.orderRecord(clientOrderId));
    }
    if (path === '/v1/test/replay' || path === '/v1/test/replay/step') {
      const replay = this.replay;
      if (replay === undefined) {
        throw new HttpError(404, 'not_found', 'this server has no replay');
      }
      if (method === 'GET' && path === '/v1/test/replay') {
        return this.send(res, 200, replay.state());
      }
      if (method === 'POST' && path === '/v1/test/replay/step') {
        const { to } = parseWith(stepBodySchema, await this.body(req), 'step');
        try {
          replay.stepTo(to);
        } catch (error) {
          throw new HttpError(400, 'bad_request', error instanceof Error ? error.message : String(error));
        }
        // The clock frame goes before the answer: a mirror that has it has every quote of the step.
        this.market?.publishClock(true);
        return this.send(res, 200, replay.state());
      }
      if (method === 'POST' && path === '/v1/test/replay') {
        const command = parseWith(replayCommandSchema, await this.body(req), 'replay command');
        try {
          applyReplayCommand(replay, command);
        } catch (error) {
          throw new HttpError(400, 'bad_request', error instanceof Error ? error.message : String(error));
        }
        this.market?.publishClock(true);
        return this.send(res, 200, replay.state());
      }
      throw this.notAllowed(method, path);
    }
    throw new HttpError(404, 'not_found', `no route ${method} ${path}`);
  }

  // ---- commands ----

  private async submit(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const command = fromSubmitBody(parseWith(submitBodySchema, await this.body(req), 'order'));
    const answer = await this.venue.receiveSubmit(command);
    if (this.answerFault(req, res, answer)) {
      return;
    }
    const result = answer.result!;
    switch (result.kind) {
      case 'accepted':
        return this.send(res, 201, result.raw);
      case 'rejected':
        return this.send(res, 422, { code: 'rejected', message: result.reason });
      case 'unknown':
        return this.send(res, 500, { code: 'internal', message: result.reason });
    }
  }

  private async cancel(req: IncomingMessage, res: ServerResponse, brokerOrderId: string, url: URL): Promise<void> {
    const clientOrderId = query(url, 'client_order_id');
    if (clientOrderId === undefined || clientOrderId === '') {
      throw new HttpError(400, 'bad_request', 'client_order_id is required');
    }
    const answer = await this.venue.receiveCancel({ clientOrderId, brokerOrderId });
    if (this.answerFault(req, res, answer)) {
      return;
    }
    const result = answer.result!;
    switch (result.kind) {
      case 'accepted':
        return this.send(res, 202, result.raw);
      case 'rejected':
        return this.send(res, 422, { code: 'rejected', message: result.reason });
      case 'unknown':
        return this.send(res, 500, { code: 'internal', message: result.reason });
    }
  }

  private async replace(req: IncomingMessage, res: ServerResponse, brokerOrderId: string): Promise<void> {
    const command = fromReplaceBody(brokerOrderId, parseWith(replaceBodySchema, await this.body(req), 'replace'));
    const answer = await this.venue.receiveReplace(command);
    if (this.answerFault(req, res, answer, (raw) => ({ order: withoutId(raw) }))) {
      return;
    }
    const result = answer.result!;
    switch (result.kind) {
      case 'accepted':
        return this.send(res, 200, { order: result.raw });
      case 'rejected':
        return this.send(res, 422, { code: 'rejected', message: result.reason });
      case 'unknown':
        return this.send(res, 500, { code: 'internal', message: result.reason });
    }
  }

  /**
   * Realises an answer fault over HTTP; true when it did (the caller answers nothing more).
   * `withoutIdBody` shapes the `accepted_without_id` body from the accepted result's raw payload.
   */
  private answerFault<R extends { readonly kind: string; readonly raw?: unknown }>(
    req: IncomingMessage,
    res: ServerResponse,
    answer: VenueAnswer<R>,
    withoutIdBody: (raw: unknown) => unknown = withoutId,
  ): boolean {
    switch (answer.fault) {
      case null:
        return false;
      case 'connection_reset':
        req.socket.resetAndDestroy();
        return true;
      case 'ack_lost':
        req.socket.destroy();
        return true;
      case 'error_after_accept':
        this.send(res, 500, { code: 'internal', message: 'internal server error' });
        return true;
      case 'accepted_without_id':
        this.send(res, 200, withoutIdBody(answer.result?.kind === 'accepted' ? answer.result.raw : null));
        return true;
    }
  }

  // ---- reports ----

  private async reports(res: ServerResponse, url: URL): Promise<void> {
    const after = parseWith(afterParam, query(url, 'after'), 'after');
    const waitMs = Math.min(parseWith(waitParam, query(url, 'wait_ms') ?? '0', 'wait_ms'), MAX_REPORT_WAIT_MS);
    const log = this.reportLog;
    // A seq beyond the log (another process's log) answers at once: the client sees lastSeq < after.
    if (after >= 0 && after <= log.lastSeq) {
      const gone = new AbortController();
      const onClose = (): void => gone.abort();
      res.once('close', onClose);
      await log.waitFor(after, waitMs, AbortSignal.any([gone.signal, this.closing.signal]));
      res.off('close', onClose);
    }
    const reports = after < 0 ? [] : log.after(after);
    this.send(res, 200, { logId: log.logId, lastSeq: log.lastSeq, reports });
  }

  // ---- plumbing ----

  /** The request body as JSON; 400 when it is not JSON, 413 when it is too large. */
  private async body(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      const buffer = chunk as Buffer;
      size += buffer.length;
      if (size > this.maxBodyBytes) {
        throw new HttpError(413, 'payload_too_large', `request body over ${this.maxBodyBytes} bytes`);
      }
      chunks.push(buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() === '') {
      throw new HttpError(400, 'bad_request', 'a JSON body is required');
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new HttpError(400, 'bad_request', 'the body is not valid JSON');
    }
  }

  private notAllowed(method: string, path: string): HttpError {
    return new HttpError(405, 'method_not_allowed', `${method} is not allowed on ${path}`);
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    if (res.headersSent || res.destroyed) {
      return; // the client went away (after its own timeout); the venue acted all the same
    }
    if (status === 204) {
      res.writeHead(204).end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private fail(res: ServerResponse, error: unknown): void {
    if (error instanceof HttpError) {
      this.send(res, error.status, { code: error.code, message: error.message });
      return;
    }
    console.error('[paper-venue] request failed', error);
    this.send(res, 500, { code: 'internal', message: 'internal server error' });
  }
}

/** Creates a PaperVenueServer and starts it listening. */
export async function startPaperVenueServer(options: PaperVenueServerOptions): Promise<PaperVenueServer> {
  const server = new PaperVenueServer(options);
  await server.listen();
  return server;
}

// ---- the process (main.ts) ----

const timeOfDay = z.string().regex(/^\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?$/, 'expected HH:MM:SS[.mmm] (America/New_York)');
const intFrom = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v));

/**
 * The environment of `npm run venue`. The paper settings default as the gateway's (apps/gateway config):
 * MARKET_DATA_DIR relative to the package root, SPXW 20210104, speed 1, start 09:30:00, ack latency 5 ms.
 */
const envSchema = z.object({
  PORT: intFrom(0).pipe(z.number().max(65_535)),
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Where the market data lives (else MARKET_DATA_DIR, else `../shared/data/market` from the package root). */
  PAPER_MARKET_DATA_DIR: optionalText,
  MARKET_DATA_DIR: optionalText,
  PAPER_SPXW_DATE: z
    .string()
    .regex(/^\d{8}$/)
    .default('20210104'),
  /** Replay speed: 1 = real time, N = N×, 0 = paused (step it with `POST /v1/test/replay/step`). */
  PAPER_SPEED: z.coerce.number().min(0).default(1),
  PAPER_START_TIME: timeOfDay.default('09:30:00'),
  PAPER_ACK_LATENCY_MS: intFrom(5),
  /** Random extra delay before the venue acts on each request, ms (uniform in [min, max]). */
  VENUE_LATENCY_MIN_MS: intFrom(0),
  VENUE_LATENCY_MAX_MS: intFrom(0),
  /**
   * Where the venue keeps its book (table `paper_venue_orders`, created by the gateway's migrations), so
   * that resting orders and positions survive a restart of this process; in memory when unset.
   */
  PAPER_VENUE_DATABASE_URL: optionalText,
  /** Seed of the venue's random source (fault rates, latency); Math.random when unset. */
  VENUE_SEED: optionalText.pipe(
    z
      .string()
      .regex(/^-?\d+$/, 'expected an integer')
      .optional(),
  ),
});

export interface PaperVenueProcessConfig {
  readonly port: number;
  readonly host: string;
  readonly marketDataDir: string;
  readonly spxwDate: string;
  readonly speed: number;
  readonly startTime: string;
  readonly ackLatencyMs: number;
  readonly latency: { readonly minMs: number; readonly maxMs: number };
  readonly seed: number | null;
  /** PostgreSQL holding the book (PAPER_VENUE_DATABASE_URL); null: in memory. */
  readonly databaseUrl: string | null;
}

/** Parses the environment; throws Error naming every bad variable. */
export function loadPaperVenueConfig(env: NodeJS.ProcessEnv = process.env): PaperVenueProcessConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  if (e.VENUE_LATENCY_MAX_MS < e.VENUE_LATENCY_MIN_MS) {
    throw new Error('invalid configuration: VENUE_LATENCY_MAX_MS must be ≥ VENUE_LATENCY_MIN_MS');
  }
  return {
    port: e.PORT,
    host: e.HOST,
    marketDataDir: resolve(packageRoot(), e.PAPER_MARKET_DATA_DIR ?? e.MARKET_DATA_DIR ?? '../shared/data/market'),
    spxwDate: e.PAPER_SPXW_DATE,
    speed: e.PAPER_SPEED,
    startTime: e.PAPER_START_TIME,
    ackLatencyMs: e.PAPER_ACK_LATENCY_MS,
    latency: { minMs: e.VENUE_LATENCY_MIN_MS, maxMs: e.VENUE_LATENCY_MAX_MS },
    seed: e.VENUE_SEED === undefined ? null : Number(e.VENUE_SEED),
    databaseUrl: e.PAPER_VENUE_DATABASE_URL ?? null,
  };
}

export interface PaperVenueProcess {
  readonly server: PaperVenueServer;
  readonly replay: MarketReplay;
  readonly venue: FaultyVenue;
  /** Stops the server, the replay and the venue. */
  close(): Promise<void>;
}

/** The application_name of the venue process's connections (the gateway's in-process venue uses the same). */
const VENUE_APPLICATION_NAME = 'paper-venue';

/**
 * The venue's book in PostgreSQL (`config.databaseUrl`): a small pool, and the store over it. Refuses
 * (one line naming the fix) when the table is not there, the gateway's migrations not run.
 */
async function openBookStore(databaseUrl: string): Promise<{ store: SqlPaperVenueStore; pool: pg.Pool }> {
  // Asynchronous commit unless PAPER_VENUE_SYNCHRONOUS_COMMIT=true: bounded risk, see VENUE_BOOK_COMMIT.
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 2,
    application_name: VENUE_APPLICATION_NAME,
    ...(['true', '1'].includes(process.env.PAPER_VENUE_SYNCHRONOUS_COMMIT ?? '') ? {} : VENUE_BOOK_COMMIT),
  });
  pool.on('error', () => undefined); // a dropped idle connection: the next save reconnects
  try {
    const { rows } = await pool.query<{ table: string | null }>(
      `SELECT to_regclass('paper_venue_orders')::text AS table`,
    );
    if (!rows[0]?.table) {
      throw new Error(
        'PAPER_VENUE_DATABASE_URL has no table paper_venue_orders: run the migrations first (npm run cli -- migrate up)',
      );
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  return {
    store: new SqlPaperVenueStore((sql, params) =>
      pool.query(sql, params ? [...params] : []).then((r) => r.rows as unknown[]),
    ),
    pool,
  };
}

/**
 * Loads the market data, builds the replay and the venue as the gateway does, and serves them. The book
 * is in memory, or in PostgreSQL with `config.databaseUrl` (loaded back before the first request).
 */
export async function startPaperVenueProcess(
  config: PaperVenueProcessConfig,
  onError: (error: unknown) => void = (error) => console.error('[paper-venue]', error),
): Promise<PaperVenueProcess> {
  const book = config.databaseUrl === null ? null : await openBookStore(config.databaseUrl);
  const replay = new MarketReplay({
    dataDir: config.marketDataDir,
    spxwDate: config.spxwDate,
    speed: config.speed,
    paused: config.speed === 0,
    startTime: config.startTime,
    onError,
  });
  const venue = new FaultyVenue(replay, {
    ackLatencyMs: config.ackLatencyMs,
    latency: config.latency,
    ...(config.seed === null ? {} : { random: seededRandom(config.seed) }),
    ...(book === null ? {} : { store: book.store }),
    onError,
  });
  if (book !== null) {
    await venue.restore();
  }
  const server = await startPaperVenueServer({ venue, replay, host: config.host, port: config.port });
  replay.start();
  return {
    server,
    replay,
    venue,
    close: async () => {
      await server.close();
      replay.stop();
      if (book !== null) {
        await venue.flush(); // every change of the book saved before the pool ends
      }
      venue.close();
      await book?.pool.end();
    },
  };
}
