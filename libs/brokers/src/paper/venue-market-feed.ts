import { epochToZonedTimeOfDay, toDecimalString, zonedTimeToEpochMs } from '@gateway/oms';
import type { StreamConnector, StreamSocket } from '../alpaca/alpaca-client.js';
import type { MarketDataFeed, Quote, QuoteListener } from '../market-data.js';
import type { BookFigures, OrderBookSource } from './lobster-books.js';
import {
  type VenueMarketSnapshot,
  type WireClock,
  type WireQuote,
  fromWireQuote,
  venueMarketFrameSchema,
  venueMarketSnapshotSchema,
} from './venue-market-wire.js';

/** Configuration of a VenueMarketFeed. Defaults in brackets. */
export interface VenueMarketFeedConfig {
  /** The paper-venue process's base URL, e.g. `http://127.0.0.1:4010`. */
  readonly baseUrl: string;
  /** Opens the WebSocket (the gateway's wsStreamConnector, on `ws`). */
  readonly connect: StreamConnector;
  /** Reconnect backoff: first and largest delay, ms [100, 2 000]; it doubles. */
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
  /**
   * A connection that brought no frame for this long is dropped and reopened, ms [3 000]; the venue
   * sends a clock frame at least every second.
   */
  readonly silenceMs?: number;
  /** Wall clock, epoch ms [Date.now]: extrapolates the venue's running replay clock between its frames. */
  readonly now?: () => number;
  /** Hears the feed's trouble: the first failure of each outage, bad frames [console.error]. */
  readonly onError?: (error: unknown) => void;
}

interface Stamp {
  /** The replay loop the quote was published in. */
  readonly loop: number;
  /** Its recorded time of day, ms after midnight ET on its own trade date. */
  readonly timeOfDayMs: number;
}

/**
 * The market of a paper-venue process, mirrored: a MarketDataFeed (and OrderBookSource) whose quotes,
 * replay clock, symbols and depth book are the venue's (apps/paper-venue, market-feed.ts), so that every
 * gateway instance sharing the venue shows one market and its risk checks see the prices the venue fills
 * at. start() loads `GET /v1/market/snapshot`, then follows the WebSocket `GET /v1/market/stream`.
 *
 * The clock: the venue's last clock frame, extrapolated by wall time × speed while the venue's replay
 * runs (never while paused); quote ages count replayed time as the replay's own do, across loops.
 *
 * While disconnected the feed has no quote at all (getQuote → undefined, no depth book): the risk checks
 * see a missing quote, exactly as for a symbol without one; symbols and dates stay (the recorded data
 * does not change). It reconnects with a capped backoff and resyncs from the stream's first frame, a
 * fresh snapshot (a restarted venue included). A connection silent for `silenceMs` is dropped too.
 */
export class VenueMarketFeed implements MarketDataFeed, OrderBookSource {
  private readonly baseUrl: string;
  private readonly openStream: StreamConnector;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly silenceMs: number;
  private readonly now: () => number;
  private readonly onError: (error: unknown) => void;
  private readonly quotes = new Map<string, Quote>();
  private readonly stamps = new WeakMap<Quote, Stamp>();
  private readonly listeners = new Set<QuoteListener>();
  private readonly clockWaiters = new Set<() => void>();
  private symbolList: readonly string[] = [];
  private dates = new Map<string, string>();
  private window: { startMs: number; endMs: number } | null = null;
  private clock: WireClock | null = null;
  private clockAt = 0;
  private book: BookFigures | null = null;
  private socket: StreamSocket | null = null;
  private live = false;
  private closed = false;
  private failures = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private silenceTimer: NodeJS.Timeout | null = null;

  constructor(config: VenueMarketFeedConfig) {
    this.baseUrl = config.baseUrl.replace(/\/+$/, '');
    this.openStream = config.connect;
    this.retryInitialMs = config.retryInitialMs ?? 100;
    this.retryMaxMs = config.retryMaxMs ?? 2_000;
    this.silenceMs = config.silenceMs ?? 3_000;
    this.now = config.now ?? Date.now;
    this.onError = config.onError ?? ((error) => console.error('[venue-market-feed]', error));
  }

  /**
   * Loads the venue's snapshot (symbols, dates, quotes, clock), retrying until `timeoutMs` [10 000] has
   * passed, then opens the stream. Throws Error naming the venue when no snapshot came in time.
   */
  async start(timeoutMs = 10_000): Promise<void> {
    const deadline = this.now() + timeoutMs;
    let delay = this.retryInitialMs;
    for (;;) {
      try {
        this.applySnapshot(await this.fetchSnapshot());
        break;
      } catch (error) {
        if (this.closed || this.now() + delay > deadline) {
          throw new Error(
            `the paper venue's market at ${this.baseUrl}/v1/market/snapshot did not answer: ${(error as Error).message}`,
            { cause: error },
          );
        }
        await new Promise((done) => setTimeout(done, delay));
        delay = Math.min(delay * 2, this.retryMaxMs);
      }
    }
    this.connect();
  }

  /** Stops following the venue; the feed keeps what it had. */
  close(): void {
    this.closed = true;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    socket?.close();
    this.wakeClockWaiters();
  }

  /** Whether the stream is connected and in sync (its snapshot frame came). */
  get connected(): boolean {
    return this.live;
  }

  // ---- MarketDataFeed ----

  getQuote(symbol: string): Quote | undefined {
    return this.quotes.get(symbol);
  }

  symbols(): readonly string[] {
    return this.symbolList;
  }

  /**
   * Replayed ms since the quote's recorded time, on the venue's clock: as MarketReplay.quoteAgeMs,
   * counting a window length per loop since it was published; never below 0 (a quote of a step can come
   * just before the step's clock frame). A quote of an unknown symbol, or before any clock, is infinitely
   * old (stale); a copy this feed did not hand out is aged from its `ts`, assuming less than one window.
   */
  quoteAgeMs(quote: Quote): number {
    const now = this.replayedMs();
    const window = this.window;
    const date = this.dates.get(quote.symbol);
    if (now === null || window === null || date === undefined) {
      return Number.POSITIVE_INFINITY;
    }
    const length = window.endMs - window.startMs;
    const stamp = this.stamps.get(quote);
    if (stamp !== undefined) {
      return Math.max(0, now - (stamp.loop * length + (stamp.timeOfDayMs - window.startMs)));
    }
    const age = this.timeOfDayMs(now) - epochToZonedTimeOfDay(date, quote.ts);
    return age < 0 ? age + length : age;
  }

  marketNow(symbol: string): number | null {
    const date = this.dates.get(symbol);
    const now = this.replayedMs();
    return date === undefined || now === null ? null : zonedTimeToEpochMs(date, this.timeOfDayMs(now));
  }

  onQuote(listener: QuoteListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** The venue's depth book as of its last clock frame; null without one or while disconnected. */
  orderBook(): BookFigures | null {
    return this.live ? this.book : null;
  }

  // ---- the venue's clock ----

  /** The venue's replay state as last heard (null before the first snapshot). */
  clockState(): WireClock | null {
    return this.clock;
  }

  /**
   * Resolves true once the mirrored clock has reached `state` (its loop and time of day; a later loop
   * counts), false after `timeoutMs` or on close. After the venue answered a control command with
   * `state`, every quote of that command has then been mirrored (the venue sends the clock frame after
   * the quotes, before its answer).
   */
  waitForClock(state: { readonly loops: number; readonly timeOfDayMs: number }, timeoutMs: number): Promise<boolean> {
    const reached = (): boolean => {
      const c = this.clock;
      return (
        this.live &&
        c !== null &&
        (c.loops > state.loops || (c.loops === state.loops && c.timeOfDayMs >= state.timeOfDayMs))
      );
    };
    if (reached() || this.closed) {
      return Promise.resolve(reached());
    }
    return new Promise((done) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.clockWaiters.delete(wake);
        done(reached());
      };
      const wake = (): void => {
        if (reached() || this.closed) {
          finish();
        }
      };
      const timer = setTimeout(finish, timeoutMs);
      timer.unref();
      this.clockWaiters.add(wake);
    });
  }

  // ---- the stream ----

  private async fetchSnapshot(): Promise<VenueMarketSnapshot> {
    const res = await fetch(`${this.baseUrl}/v1/market/snapshot`, { signal: AbortSignal.timeout(5_000) });
    if (res.status !== 200) {
      throw new Error(`HTTP ${res.status}`);
    }
    return venueMarketSnapshotSchema.parse(await res.json());
  }

  private connect(): void {
    if (this.closed) {
      return;
    }
    let socket: StreamSocket | null = null;
    socket = this.openStream(`${this.baseUrl.replace(/^http/, 'ws')}/v1/market/stream`, {
      onOpen: () => undefined,
      onMessage: (text) => {
        if (this.socket === socket) {
          this.armSilence();
          this.onFrame(text);
        }
      },
      onClose: (reason) => {
        if (this.socket !== socket) {
          return;
        }
        this.socket = null;
        if (this.failures === 0) {
          this.onError(new Error(`the paper venue's market stream closed: ${reason}`)); // once per outage
        }
        this.down();
      },
    });
    this.socket = socket;
    this.armSilence();
  }

  private onFrame(text: string): void {
    let frame;
    try {
      frame = venueMarketFrameSchema.parse(JSON.parse(text));
    } catch (error) {
      this.onError(new Error(`bad market frame from the paper venue: ${(error as Error).message}`));
      return;
    }
    switch (frame.type) {
      case 'snapshot':
        this.applySnapshot(frame);
        this.live = true;
        this.failures = 0;
        this.wakeClockWaiters();
        return;
      case 'quote':
        if (this.live) {
          this.applyQuote(frame.quote, frame.loop, frame.notify);
        }
        return;
      case 'clock':
        if (this.live) {
          this.applyClock(frame.clock);
          this.book = frame.book;
          this.wakeClockWaiters();
        }
        return;
    }
  }

  /** The connection is gone: no quote until the next snapshot; reconnect after the backoff. */
  private down(): void {
    this.live = false;
    this.quotes.clear();
    if (this.silenceTimer !== null) {
      clearTimeout(this.silenceTimer);
      this.silenceTimer = null;
    }
    if (this.closed) {
      return;
    }
    const delay = Math.min(this.retryInitialMs * 2 ** Math.min(this.failures, 16), this.retryMaxMs);
    this.failures++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
    this.reconnectTimer.unref();
  }

  private armSilence(): void {
    if (this.silenceTimer !== null) {
      clearTimeout(this.silenceTimer);
    }
    const socket = this.socket;
    this.silenceTimer = setTimeout(() => {
      if (socket !== null && this.socket === socket) {
        this.onError(new Error(`the paper venue's market stream was silent for ${this.silenceMs} ms; reconnecting`));
        this.failures = Math.max(this.failures, 1); // said once: the close that follows is the same outage
        socket.close();
      }
    }, this.silenceMs);
    this.silenceTimer.unref();
  }

  private clearTimers(): void {
    for (const timer of [this.reconnectTimer, this.silenceTimer]) {
      if (timer !== null) {
        clearTimeout(timer);
      }
    }
    this.reconnectTimer = null;
    this.silenceTimer = null;
  }

  private applySnapshot(snapshot: VenueMarketSnapshot): void {
    this.symbolList = [...snapshot.symbols];
    this.dates = new Map(Object.entries(snapshot.dates));
    this.window = snapshot.window;
    this.applyClock(snapshot.clock);
    this.book = snapshot.book;
    const previous = new Map(this.quotes);
    this.quotes.clear();
    for (const wire of snapshot.quotes) {
      // A resync is heard as quote updates, for the quotes that changed meanwhile.
      const before = previous.get(wire.symbol);
      this.applyQuote(wire, snapshot.clock.loops, before === undefined || !sameQuote(before, wire));
    }
  }

  private applyClock(clock: WireClock): void {
    if (this.clock !== null && clock.loops > this.clock.loops) {
      this.dropOlderLoops(clock.loops);
    }
    this.clock = clock;
    this.clockAt = this.now();
  }

  private applyQuote(wire: WireQuote, loop: number, notify: boolean): void {
    if (this.clock !== null && loop > this.clock.loops) {
      // The replay wrapped: what it cleared is gone here too (its opening quotes come in this loop).
      this.dropOlderLoops(loop);
      this.applyClock({ ...this.clock, loops: loop, timeOfDayMs: this.window?.startMs ?? this.clock.timeOfDayMs });
    }
    const date = this.dates.get(wire.symbol);
    const quote = fromWireQuote(wire);
    this.stamps.set(quote, {
      loop,
      timeOfDayMs: date === undefined ? 0 : epochToZonedTimeOfDay(date, quote.ts),
    });
    this.quotes.set(quote.symbol, quote);
    if (notify) {
      for (const listener of this.listeners) {
        try {
          listener(quote);
        } catch (error) {
          this.onError(error);
        }
      }
    }
  }

  private dropOlderLoops(loop: number): void {
    for (const [symbol, quote] of this.quotes) {
      if ((this.stamps.get(quote)?.loop ?? 0) < loop) {
        this.quotes.delete(symbol);
      }
    }
  }

  /** Replayed ms since the window start of loop 0, now: the last clock, extrapolated while it runs. */
  private replayedMs(): number | null {
    const clock = this.clock;
    const window = this.window;
    if (clock === null || window === null) {
      return null;
    }
    const length = window.endMs - window.startMs;
    const base = clock.loops * length + (clock.timeOfDayMs - window.startMs);
    // Time arithmetic in floats is fine here: only the clock, never a price or quantity.
    const running = clock.running && !clock.paused && this.live;
    return running ? base + Math.floor(Math.max(0, this.now() - this.clockAt) * clock.speed) : base;
  }

  private timeOfDayMs(replayedMs: number): number {
    const window = this.window!;
    const length = window.endMs - window.startMs;
    return window.startMs + (((replayedMs % length) + length) % length);
  }

  private wakeClockWaiters(): void {
    for (const wake of [...this.clockWaiters]) {
      wake();
    }
  }
}

function sameQuote(quote: Quote, wire: WireQuote): boolean {
  return (
    quote.ts === wire.ts &&
    toDecimalString(quote.bid) === wire.bid &&
    toDecimalString(quote.ask) === wire.ask &&
    toDecimalString(quote.bidSize) === wire.bidSize &&
    toDecimalString(quote.askSize) === wire.askSize
  );
}
