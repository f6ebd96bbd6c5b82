import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { parseInstrument } from '@gateway/oms';
import type { MarketDataFeed } from '@gateway/brokers';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { AuditRecorder } from '../audit/audit-recorder.js';
import { AccountsService } from '../accounts/accounts.service.js';
import { type Principal } from '../auth/principal.js';
import { TokenVerifier } from '../auth/token-verifier.js';
import { ApiError } from '../common/api-error.js';
import { LOGGER } from '../common/logger.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { MARKET_DATA } from '../market/market.tokens.js';
import { toQuoteDto } from '../market/quote.mapper.js';
import { OrderQueries } from '../orders/order-queries.service.js';
import { type StreamLease, StreamLimiter } from '../rate-limit/stream-limiter.js';
import { EventBus } from '../orders/event-bus.js';
import type { StreamEvent } from '../orders/stream-event.js';
import { AccountCursor, REPLAY_PAGE } from './account-cursor.js';

export const STREAM_PATH = '/v1/stream';

/**
 * Close codes (API.md): 4401 not authenticated in time or bad token, 4403 a token with no role of the
 * gateway, 4408 slow consumer, 4429 more
 * connections than WS_MAX_CONNECTIONS_PER_PRINCIPAL for the token's subject.
 */
export const CLOSE = {
  unauthenticated: 4401,
  forbidden: 4403,
  slowConsumer: 4408,
  badMessage: 4400,
  tooManyConnections: 4429,
} as const;

const clientMessage = z.union([
  z.object({ op: z.literal('auth'), token: z.string().min(1).max(8192) }),
  z.object({
    op: z.literal('subscribe'),
    channel: z.literal('orders'),
    accountId: z.string().min(1).max(64),
    fromSeq: z.number().int().min(0).optional(),
  }),
  z.object({ op: z.literal('subscribe'), channel: z.literal('quotes'), symbol: z.string().min(1).max(32) }),
  z.object({ op: z.literal('unsubscribe'), channel: z.literal('orders'), accountId: z.string().min(1).max(64) }),
  z.object({ op: z.literal('unsubscribe'), channel: z.literal('quotes'), symbol: z.string().min(1).max(32) }),
]);

/** Order accounts plus quote symbols the connection is subscribed to (WS_MAX_SUBSCRIPTIONS). */
function subscriptionCount(session: StreamSession): number {
  return session.cursors.size + session.quoteSymbols.size;
}

function tooManySubscriptions(target: Record<string, string>) {
  return {
    type: 'error',
    code: 'rate_limit.exceeded',
    ...target,
    message: 'too many subscriptions on this connection: unsubscribe first',
  };
}

class StreamSession {
  principal: Principal | null = null;
  /** This connection's slot in its subject's connection limit, once authenticated. */
  lease: StreamLease | null = null;
  readonly cursors = new Map<string, AccountCursor>();
  readonly quoteSymbols = new Set<string>();
  missedPongs = 0;
  /** A client may send `subscribe` right behind `auth`: its messages are handled one at a time, in order. */
  inbox: Promise<void> = Promise.resolve();

  constructor(readonly socket: WebSocket) {}
}

/**
 * The `/v1/stream` WebSocket (API.md "Stream"): plain JSON text frames; auth first, then order and
 * quote subscriptions. Pings every WS_PING_INTERVAL_MS; a client that misses two is dropped; a client
 * whose send buffer passes WS_MAX_BUFFERED_BYTES is closed with 4408 and resumes with `fromSeq`.
 */
@Injectable()
export class StreamServer implements OnModuleDestroy {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly sessions = new Set<StreamSession>();
  /** Each order event's frame, serialised once for every session it goes to (eventFrame). */
  private readonly frames = new WeakMap<StreamEvent, string>();
  private pingTimer: NodeJS.Timeout | undefined;
  private unsubscribeBus: (() => void) | undefined;
  private unsubscribeQuotes: (() => void) | undefined;
  private unsubscribeResync: (() => void) | undefined;

  constructor(
    private readonly bus: EventBus,
    private readonly verifier: TokenVerifier,
    private readonly accounts: AccountsService,
    private readonly queries: OrderQueries,
    @Inject(MARKET_DATA) private readonly market: MarketDataFeed,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly limits: StreamLimiter,
    private readonly audit: AuditRecorder,
  ) {}

  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== STREAM_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
    });
    this.unsubscribeBus = this.bus.subscribe((event) => {
      for (const session of this.sessions) {
        session.cursors.get(event.accountId)?.offer(event);
      }
    });
    this.unsubscribeResync = this.bus.onResync(() => {
      for (const session of this.sessions) {
        session.cursors.forEach((cursor) => void cursor.catchUp());
      }
    });
    this.unsubscribeQuotes = this.market.onQuote((quote) => {
      let frame: string | undefined;
      for (const session of this.sessions) {
        if (session.quoteSymbols.has(quote.symbol)) {
          frame ??= JSON.stringify({ type: 'quote', ...toQuoteDto(quote, this.market) });
          this.sendRaw(session, frame);
        }
      }
    });
    this.pingTimer = setInterval(() => this.heartbeat(), this.config.ws.pingIntervalMs);
    this.pingTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.pingTimer);
    this.unsubscribeBus?.();
    this.unsubscribeQuotes?.();
    this.unsubscribeResync?.();
    for (const session of this.sessions) {
      // 1012 (service restart, RFC 6455 §7.4 registry): reconnect, to another instance, with fromSeq.
      session.socket.close(1012, 'server restarting: reconnect and resume with fromSeq');
    }
    this.wss.close();
  }

  private onConnection(socket: WebSocket): void {
    const session = new StreamSession(socket);
    this.sessions.add(session);
    const authTimer = setTimeout(() => {
      if (!session.principal) {
        socket.close(CLOSE.unauthenticated, 'authenticate within 5 s');
      }
    }, this.config.ws.authTimeoutMs);
    socket.on('pong', () => {
      session.missedPongs = 0;
    });
    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        socket.close(CLOSE.badMessage, 'text frames only');
        return;
      }
      const text = (data as Buffer).toString('utf8');
      session.inbox = session.inbox.then(() =>
        this.onMessage(session, text).catch((error: unknown) => {
          this.logger.error({ err: error }, 'stream message handling failed');
          this.sendJson(session, { type: 'error', code: 'internal.error', message: 'internal error' });
        }),
      );
    });
    socket.on('close', () => {
      clearTimeout(authTimer);
      session.cursors.forEach((c) => c.close());
      this.sessions.delete(session);
      if (session.lease) {
        this.limits.release(session.lease);
      }
    });
    socket.on('error', (error) => this.logger.debug({ err: error }, 'stream socket error'));
  }

  private async onMessage(session: StreamSession, text: string): Promise<void> {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.sendJson(session, { type: 'error', code: 'validation.malformed_json', message: 'not JSON' });
      return;
    }
    const parsed = clientMessage.safeParse(json);
    if (!parsed.success) {
      this.sendJson(session, {
        type: 'error',
        code: 'validation.failed',
        message: parsed.error.issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`).join('; '),
      });
      return;
    }
    const msg = parsed.data;
    if (msg.op === 'auth') {
      let principal: Principal;
      try {
        principal = await this.verifier.verify(msg.token);
      } catch {
        this.audit.streamSecurityEvent({ action: 'stream.auth', code: 'auth.unauthenticated' });
        session.socket.close(CLOSE.unauthenticated, 'invalid token');
        return;
      }
      if (!principal.hasAnyRole()) {
        this.audit.streamSecurityEvent({
          action: 'stream.auth',
          code: 'auth.forbidden',
          status: 403,
          subject: principal.subject,
        });
        session.socket.close(CLOSE.forbidden, 'the token has no role of the gateway');
        return;
      }
      if (!(await this.takeConnectionSlot(session, principal))) {
        session.socket.close(CLOSE.tooManyConnections, 'too many connections for this principal');
        return;
      }
      session.principal = principal;
      this.sendJson(session, { type: 'authenticated' });
      return;
    }
    const principal = session.principal;
    if (!principal) {
      session.socket.close(CLOSE.unauthenticated, 'authenticate first');
      return;
    }
    if (msg.channel === 'quotes') {
      const symbol = parseInstrument(msg.symbol)?.symbol ?? msg.symbol;
      if (msg.op === 'unsubscribe') {
        session.quoteSymbols.delete(symbol);
        return;
      }
      if (!session.quoteSymbols.has(symbol) && !this.limits.allowsSubscription(subscriptionCount(session))) {
        this.sendJson(session, tooManySubscriptions({ channel: 'quotes', symbol }));
        return;
      }
      session.quoteSymbols.add(symbol);
      this.sendJson(session, { type: 'subscribed', channel: 'quotes', symbol });
      const quote = this.market.getQuote(symbol);
      if (quote) {
        this.sendJson(session, { type: 'quote', ...toQuoteDto(quote, this.market) });
      }
      return;
    }
    if (msg.op === 'unsubscribe') {
      session.cursors.get(msg.accountId)?.close();
      session.cursors.delete(msg.accountId);
      return;
    }
    if (!session.cursors.has(msg.accountId) && !this.limits.allowsSubscription(subscriptionCount(session))) {
      this.sendJson(session, tooManySubscriptions({ channel: 'orders', accountId: msg.accountId }));
      return;
    }
    await this.subscribeOrders(session, principal, msg.accountId, msg.fromSeq);
  }

  /** Holds a slot of the subject's connection limit for this connection; false when none is left. */
  private async takeConnectionSlot(session: StreamSession, principal: Principal): Promise<boolean> {
    if (session.lease?.subject === principal.subject) {
      return true;
    }
    const lease = await this.limits.acquire(principal.subject);
    if (!lease) {
      return false;
    }
    if (session.lease) {
      this.limits.release(session.lease);
    }
    session.lease = lease;
    if (session.socket.readyState !== WebSocket.OPEN) {
      // Closed while the slot was being taken: its close handler may have run already.
      this.limits.release(lease);
    }
    return true;
  }

  private async subscribeOrders(
    session: StreamSession,
    principal: Principal,
    accountId: string,
    fromSeq: number | undefined,
  ): Promise<void> {
    let latest: number;
    try {
      latest = Number((await this.accounts.getVisible(principal, accountId)).lastSeq);
    } catch (error) {
      if (error instanceof ApiError) {
        this.audit.streamSecurityEvent({
          action: 'stream.subscribe',
          code: 'auth.forbidden',
          status: 403,
          subject: principal.subject,
          accountId,
        });
        this.sendJson(session, { type: 'error', code: 'auth.forbidden', accountId, message: 'not your account' });
        return;
      }
      throw error;
    }
    session.cursors.get(accountId)?.close();
    // Registered before the replay is read, so nothing committed meanwhile can slip between the two.
    const cursor = new AccountCursor(
      accountId,
      fromSeq ?? latest,
      (event) => this.sendRaw(session, this.eventFrame(event)),
      (after) => this.queries.events(accountId, after, REPLAY_PAGE),
      (error) => this.logger.error({ err: error, accountId }, 'stream replay from PostgreSQL failed'),
    );
    session.cursors.set(accountId, cursor);
    this.sendJson(session, { type: 'subscribed', channel: 'orders', accountId, seq: latest });
    await cursor.catchUp();
  }

  private heartbeat(): void {
    for (const session of this.sessions) {
      if (session.missedPongs >= 2) {
        session.socket.terminate();
        continue;
      }
      session.missedPongs += 1;
      session.socket.ping();
    }
  }

  /**
   * The frame of an order event, serialised once however many sessions it goes to: the bus hands every
   * session the same event object, so the text is kept with it (weakly) for the others.
   */
  private eventFrame(event: StreamEvent): string {
    let frame = this.frames.get(event);
    if (frame === undefined) {
      frame = JSON.stringify(event);
      this.frames.set(event, frame);
    }
    return frame;
  }

  private sendJson(session: StreamSession, message: unknown): boolean {
    return this.sendRaw(session, JSON.stringify(message));
  }

  /** Sends unless the client is too slow; a slow client is closed (4408) rather than buffered without bound. */
  private sendRaw(session: StreamSession, frame: string): boolean {
    const socket = session.socket;
    if (socket.readyState !== WebSocket.OPEN) {
      return false;
    }
    if (socket.bufferedAmount > this.config.ws.maxBufferedBytes) {
      session.cursors.forEach((c) => c.close());
      socket.close(CLOSE.slowConsumer, 'slow consumer: resume with fromSeq');
      return false;
    }
    socket.send(frame);
    return true;
  }
}
