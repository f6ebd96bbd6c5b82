import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  type MarketReplay,
  type VenueMarketFrame,
  type VenueMarketSnapshot,
  type WireClock,
  toWireQuote,
} from '@gateway/brokers';
import { type WebSocket, WebSocketServer } from 'ws';

/** How often the clock is looked at, wall ms: a `clock` frame goes out when it moved (or on the heartbeat). */
export const CLOCK_FRAME_MS = 100;
/** Longest wall time without a `clock` frame, ms: a paused replay still says it is alive. */
export const CLOCK_HEARTBEAT_MS = 1_000;
/** A client this far behind (bytes queued to it) is dropped; it reconnects and resyncs from the snapshot. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/**
 * The venue's market as its replay publishes it, for gateways that mirror it (VenueMarketFeed): the
 * snapshot (`GET /v1/market/snapshot`) and the WebSocket `GET /v1/market/stream`, whose first frame is a
 * snapshot taken as the connection opened, then every quote the replay publishes (`quote`, `notify`
 * true), every `last` a trade changes (`quote`, `notify` false), and `clock` frames: the replay state
 * and the depth book, whenever the clock moved (looked at every CLOCK_FRAME_MS), at least every
 * CLOCK_HEARTBEAT_MS, and at once after a control route moved it (publishClock). Wire shapes:
 * venue-market-wire.ts in libs/brokers. One frame is serialised once for every client.
 */
export class VenueMarketPublisher {
  readonly feedId = randomUUID();
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 });
  private readonly clients = new Set<WebSocket>();
  private readonly unsubscribe: (() => void)[];
  private readonly timer: NodeJS.Timeout;
  private lastClockKey = '';
  private lastClockAt = 0;

  constructor(private readonly replay: MarketReplay) {
    this.unsubscribe = [
      replay.onQuote((quote) =>
        this.broadcast({ type: 'quote', quote: toWireQuote(quote), loop: replay.state().loops, notify: true }),
      ),
      replay.onTrade((trade) => {
        const quote = trade.lastSaleEligible ? replay.getQuote(trade.symbol) : undefined;
        if (quote !== undefined) {
          this.broadcast({ type: 'quote', quote: toWireQuote(quote), loop: replay.state().loops, notify: false });
        }
      }),
    ];
    this.timer = setInterval(() => this.publishClock(false), CLOCK_FRAME_MS);
    this.timer.unref();
  }

  /** The market now: window, clock, symbols and their dates, every current quote, the depth book. */
  snapshot(): VenueMarketSnapshot {
    const replay = this.replay;
    const symbols = [...replay.symbols()];
    const dates: Record<string, string> = {};
    const quotes = [];
    for (const symbol of symbols) {
      const instrument = replay.instrument(symbol);
      if (instrument !== undefined) {
        dates[symbol] = instrument.date;
      }
      const quote = replay.getQuote(symbol);
      if (quote !== undefined) {
        quotes.push(toWireQuote(quote));
      }
    }
    return {
      feedId: this.feedId,
      window: replay.window(),
      clock: replay.state(),
      symbols,
      dates,
      quotes,
      book: replay.orderBook(),
    };
  }

  /** Takes over an HTTP upgrade to `/v1/market/stream`. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // Nothing runs between the snapshot and the registration: every later frame follows it in order.
      ws.send(JSON.stringify({ type: 'snapshot', ...this.snapshot() } satisfies VenueMarketFrame));
      this.clients.add(ws);
      ws.on('close', () => this.clients.delete(ws));
      ws.on('error', () => ws.terminate());
      // Frames from a client mean nothing: the feed is one-way.
    });
  }

  /** Sends a `clock` frame when the clock changed, the heartbeat is due, or `force` (after a control route). */
  publishClock(force: boolean): void {
    const clock: WireClock = this.replay.state();
    const key = `${clock.loops}:${clock.timeOfDayMs}:${clock.paused}:${clock.speed}:${clock.running}`;
    const now = Date.now();
    if (!force && key === this.lastClockKey && now - this.lastClockAt < CLOCK_HEARTBEAT_MS) {
      return;
    }
    this.lastClockKey = key;
    this.lastClockAt = now;
    this.broadcast({ type: 'clock', clock, book: this.replay.orderBook() });
  }

  /** Stops publishing and drops every client. */
  close(): void {
    clearInterval(this.timer);
    for (const off of this.unsubscribe) {
      off();
    }
    for (const ws of this.clients) {
      ws.terminate();
    }
    this.clients.clear();
    this.wss.close();
  }

  private broadcast(frame: VenueMarketFrame): void {
    if (this.clients.size === 0) {
      return;
    }
    const text = JSON.stringify(frame);
    for (const ws of this.clients) {
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        ws.terminate();
        continue;
      }
      ws.send(text);
    }
  }
}
