import { type Clock, systemClock } from '@gateway/oms';
import type { MarketDataFeed, Quote, QuoteListener } from '../market-data.js';
import { epochToZonedTimeOfDay, zonedTimeToEpochMs } from '@gateway/oms';
import { type InstrumentData, type LoadedMarketData, type QuoteEvent, loadMarketData } from './market-data-loader.js';
import { type MarketDataSetSpec, defaultMarketDataSets } from './market-data-sets.js';
import { type BookFigures, type DepthBook, DepthBookReplay, loadLobsterBooks } from './lobster-books.js';
import { formatTimeOfDay, parseTimeOfDay } from './time-of-day.js';
import type { TradeListener, TradePrint } from './trade-print.js';

/** A replay window, times of day ET (`"HH:MM:SS[.mmm]"` or ms after midnight); `end` is exclusive. */
export interface ReplayWindow {
  readonly start: string | number;
  readonly end: string | number;
}

/**
 * Configuration of a MarketReplay. Defaults: the default data sets (SPY 2013-10-07, SPXW of
 * `spxwDate` = 20210104), `speed` 1, not paused, window 09:30:00–10:00:00, `startTime` = window start,
 * `tickIntervalMs` 50, the system clock, errors to console.error.
 */
export interface MarketReplayConfig {
  /** Directory of the CSV files (see resolveMarketDataDir). Required unless `data` is given. */
  readonly dataDir?: string;
  /** Data sets to load from `dataDir`; default defaultMarketDataSets({ spxwDate }). */
  readonly dataSets?: readonly MarketDataSetSpec[];
  /** SPXW trade date of the default data sets, `YYYYMMDD` or `YYYY-MM-DD`. */
  readonly spxwDate?: string;
  /** Already loaded data (loadMarketData), shared read-only between replays; skips the file reads. */
  readonly data?: LoadedMarketData;
  /**
   * The LOBSTER 10-level books replayed on this replay's clock (see orderBook); default: loaded from
   * `dataDir` when its LOBSTER AAPL sample is there, else none.
   */
  readonly depthBooks?: readonly DepthBook[] | null;
  /** Replay ms per wall-clock ms: 1 = real time, N = N× faster, 0 = paused. */
  readonly speed?: number;
  readonly paused?: boolean;
  /** Time of day to start at; events up to it (inclusive) are applied at construction. */
  readonly startTime?: string | number;
  readonly window?: ReplayWindow;
  /** Wall-clock ms between timer advances while started. */
  readonly tickIntervalMs?: number;
  /** Wall clock that drives the timer advance (epoch ms). */
  readonly clock?: Clock;
  /** Receives errors thrown by listeners or by a timer advance; replay goes on. */
  readonly onError?: (error: unknown) => void;
}

/** Snapshot of the replay clock. `timeOfDay` is `"HH:MM:SS.mmm"` ET; `loops` counts wraps to the window start. */
export interface ReplayState {
  readonly timeOfDay: string;
  readonly timeOfDayMs: number;
  /** True when paused or when the speed is 0. */
  readonly paused: boolean;
  readonly speed: number;
  readonly loops: number;
  /** Whether the timer is started. */
  readonly running: boolean;
}

export const DEFAULT_REPLAY_WINDOW: ReplayWindow = { start: '09:30:00', end: '10:00:00' };

interface LiveState {
  quote: Quote | undefined;
  last: TradePrint | undefined;
}

/**
 * Replays recorded market data as a MarketDataFeed. The clock is a time of day in ms after midnight ET;
 * every data set replays its own recorded trade date at that time of day, so SPY of 2013-10-07 and
 * SPXW of 2021-01-04 run side by side. Moving the clock to T applies every event with time ≤ T, in
 * time order (ties: data set order, then file order), and notifies listeners synchronously.
 *
 * The clock runs inside a window [start, end). Reaching `end` wraps to `start` (`loops` + 1): the
 * quotes restart from the state recorded just before the window start (nothing, for the default data)
 * and the window's events replay again. Quote ages stay right across a wrap: they count replayed time.
 *
 * Only `onQuote` listeners hear quote updates; a trade changes `last` of the current quote (see
 * getQuote) and is heard by `onTrade` listeners.
 */
export class MarketReplay implements MarketDataFeed {
  private readonly events: LoadedMarketData['events'];
  private readonly instruments: ReadonlyMap<string, InstrumentData>;
  private readonly symbolList: readonly string[];
  private readonly windowStart: number;
  private readonly windowEnd: number;
  private readonly windowLength: number;
  private readonly firstIndex: number;
  private readonly endIndex: number;
  /** The last quote and last eligible trade of each symbol recorded before the window start. */
  private readonly openingQuotes = new Map<string, QuoteEvent>();
  private readonly openingTrades = new Map<string, TradePrint>();
  private readonly live = new Map<string, LiveState>();
  /** Loop and time of day of every quote this replay handed out, for quoteAgeMs. */
  private readonly stamps = new WeakMap<Quote, { readonly loop: number; readonly timeOfDayMs: number }>();
  private readonly quoteListeners = new Set<QuoteListener>();
  private readonly tradeListeners = new Set<TradeListener>();
  private readonly clock: Clock;
  private readonly tickIntervalMs: number;
  private readonly onError: (error: unknown) => void;
  private cursor = 0;
  private nowMs = 0;
  private loopCount = 0;
  private carryMs = 0;
  private speedValue: number;
  private pausedFlag: boolean;
  private timer: NodeJS.Timeout | null = null;
  private lastWallMs = 0;
  private stepping = false;
  private readonly depth: DepthBookReplay | null;

  /** Loads the data (synchronously, unless `config.data` is given) and positions the clock at `startTime`. */
  constructor(config: MarketReplayConfig) {
    let data = config.data;
    if (data === undefined) {
      if (config.dataDir === undefined) {
        throw new Error('MarketReplay: dataDir (or data) is required');
      }
      data = loadMarketData(config.dataDir, config.dataSets ?? defaultMarketDataSets({ spxwDate: config.spxwDate }));
    }
    const depthBooks =
      config.depthBooks !== undefined
        ? config.depthBooks
        : config.dataDir === undefined
          ? null
          : loadLobsterBooks(config.dataDir);
    this.depth = depthBooks ? new DepthBookReplay(depthBooks) : null;
    this.events = data.events;
    this.instruments = data.instruments;
    this.symbolList = [...data.instruments.keys()].sort();

    const window = config.window ?? DEFAULT_REPLAY_WINDOW;
    this.windowStart = parseTimeOfDay(window.start);
    this.windowEnd = parseTimeOfDay(window.end);
    if (this.windowEnd <= this.windowStart) {
      throw new RangeError(
        `MarketReplay: window end must be after its start (${String(window.start)}–${String(window.end)})`,
      );
    }
    this.windowLength = this.windowEnd - this.windowStart;
    this.firstIndex = this.lowerBound(this.windowStart);
    this.endIndex = this.lowerBound(this.windowEnd);
    for (let i = 0; i < this.firstIndex; i++) {
      const e = this.events[i]!;
      if (e.kind === 'quote') {
        this.openingQuotes.set(e.symbol, e);
      } else if (e.trade.lastSaleEligible) {
        this.openingTrades.set(e.trade.symbol, e.trade);
      }
    }

    this.speedValue = MarketReplay.checkSpeed(config.speed ?? 1);
    this.pausedFlag = config.paused ?? false;
    this.tickIntervalMs = config.tickIntervalMs ?? 50;
    if (!(this.tickIntervalMs > 0)) {
      throw new RangeError(`MarketReplay: tickIntervalMs must be > 0, got ${this.tickIntervalMs}`);
    }
    this.clock = config.clock ?? systemClock;
    this.onError = config.onError ?? ((error) => console.error('[market-replay]', error));

    const startAt = config.startTime === undefined ? this.windowStart : this.checkInWindow(config.startTime);
    this.guarded(() => {
      this.restartWindow();
      this.processThrough(startAt);
    });
  }

  // ---- MarketDataFeed ----

  /** The latest quote of `symbol` with `last` from its latest eligible trade, or undefined before its first quote. */
  getQuote(symbol: string): Quote | undefined {
    return this.live.get(symbol)?.quote;
  }

  /** Every symbol in the loaded data (equity tickers, padded OSI option symbols), sorted. */
  symbols(): readonly string[] {
    return this.symbolList;
  }

  /**
   * Replayed ms since the quote's recorded time: current time of day − the quote's time of day, on the
   * quote's own trade date, plus one window length per wrap since it was published. A quote not
   * published by this replay (a copy) is aged from its `ts`, assuming it is less than one window old;
   * a quote of an unknown symbol is infinitely old (stale), never fresh.
   */
  quoteAgeMs(quote: Quote): number {
    const stamp = this.stamps.get(quote);
    if (stamp !== undefined) {
      return (this.loopCount - stamp.loop) * this.windowLength + (this.nowMs - stamp.timeOfDayMs);
    }
    const instrument = this.instruments.get(quote.symbol);
    if (instrument === undefined) {
      return Number.POSITIVE_INFINITY;
    }
    const age = this.nowMs - epochToZonedTimeOfDay(instrument.date, quote.ts);
    return age < 0 ? age + this.windowLength : age;
  }

  marketNow(symbol: string): number | null {
    const instrument = this.instruments.get(symbol);
    return instrument === undefined ? null : zonedTimeToEpochMs(instrument.date, this.nowMs);
  }

  onQuote(listener: QuoteListener): () => void {
    this.quoteListeners.add(listener);
    return () => {
      this.quoteListeners.delete(listener);
    };
  }

  /**
   * The LOBSTER 10-level book in force at the replay's time of day, with its WOBI and liquidity
   * imbalance (bookFigures; the books loop over the sample's 49 s, DepthBookReplay); null without the
   * sample. It moves with the replay's clock: paused when the replay is, at its speed.
   */
  orderBook(): BookFigures | null {
    return this.depth?.at(this.nowMs) ?? null;
  }

  // ---- trades and instruments ----

  /** Subscribe to every recorded trade (including the ones not last-sale eligible). Returns the unsubscribe function. */
  onTrade(listener: TradeListener): () => void {
    this.tradeListeners.add(listener);
    return () => {
      this.tradeListeners.delete(listener);
    };
  }

  /** The latest last-sale-eligible trade of `symbol` in the current loop, if any. */
  lastTrade(symbol: string): TradePrint | undefined {
    return this.live.get(symbol)?.last;
  }

  /** What the data holds for `symbol` (trade date, quote and trade sources), or undefined for an unknown symbol. */
  instrument(symbol: string): InstrumentData | undefined {
    return this.instruments.get(symbol);
  }

  /** Epoch ms of the current replay time on `symbol`'s recorded trade date; undefined for an unknown symbol. */
  recordedEpochMs(symbol: string): number | undefined {
    const instrument = this.instruments.get(symbol);
    return instrument === undefined ? undefined : zonedTimeToEpochMs(instrument.date, this.nowMs);
  }

  // ---- clock ----

  /** The replay window, ms after midnight ET; `endMs` is exclusive (the clock wraps there to `startMs`). */
  window(): { readonly startMs: number; readonly endMs: number } {
    return { startMs: this.windowStart, endMs: this.windowEnd };
  }

  /** Current replay time, ms after midnight ET. */
  timeOfDayMs(): number {
    return this.nowMs;
  }

  state(): ReplayState {
    return {
      timeOfDay: formatTimeOfDay(this.nowMs),
      timeOfDayMs: this.nowMs,
      paused: this.isPaused(),
      speed: this.speedValue,
      loops: this.loopCount,
      running: this.timer !== null,
    };
  }

  /**
   * Moves the clock forward to `target` (`"HH:MM:SS[.mmm]"` or ms after midnight ET, inside the window)
   * and synchronously applies every event with time ≤ target. A target earlier than now wraps through
   * the window end into the next loop. Throws RangeError outside the window, Error when called from a
   * listener while the replay is applying events.
   */
  stepTo(target: string | number): void {
    const t = this.checkInWindow(target);
    const delta = t >= this.nowMs ? t - this.nowMs : this.windowEnd - this.nowMs + (t - this.windowStart);
    this.advanceBy(delta);
  }

  /** Moves the clock forward by `ms` replay ms (an integer ≥ 0), wrapping at the window end. */
  advanceBy(ms: number): void {
    if (!Number.isInteger(ms) || ms < 0) {
      throw new RangeError(`MarketReplay: advance must be an integer ≥ 0 ms, got ${ms}`);
    }
    this.guarded(() => {
      let target = this.nowMs + ms;
      while (target >= this.windowEnd) {
        this.processThrough(this.windowEnd - 1);
        target -= this.windowLength;
        this.loopCount++;
        this.restartWindow();
      }
      this.processThrough(target);
    });
  }

  /** Starts the timer that advances the clock by elapsed wall time × speed. The timer is unref'd. */
  start(): void {
    if (this.timer !== null) {
      return;
    }
    this.lastWallMs = this.clock.now();
    this.carryMs = 0;
    this.timer = setInterval(() => this.tick(), this.tickIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  pause(): void {
    this.catchUp();
    this.pausedFlag = true;
  }

  resume(): void {
    this.pausedFlag = false;
    this.lastWallMs = this.clock.now();
    this.carryMs = 0;
  }

  /** Sets replay ms per wall ms (≥ 0; 0 pauses). Time elapsed so far counts at the old speed. */
  setSpeed(speed: number): void {
    const checked = MarketReplay.checkSpeed(speed);
    this.catchUp();
    this.speedValue = checked;
  }

  // ---- internals ----

  private static checkSpeed(speed: number): number {
    if (!Number.isFinite(speed) || speed < 0) {
      throw new RangeError(`MarketReplay: speed must be a finite number ≥ 0, got ${speed}`);
    }
    return speed;
  }

  private isPaused(): boolean {
    return this.pausedFlag || this.speedValue === 0;
  }

  private checkInWindow(value: string | number): number {
    const t = parseTimeOfDay(value);
    if (t < this.windowStart || t >= this.windowEnd) {
      throw new RangeError(
        `MarketReplay: ${formatTimeOfDay(t)} is outside the window ${formatTimeOfDay(this.windowStart)}–${formatTimeOfDay(this.windowEnd)}`,
      );
    }
    return t;
  }

  /** Index of the first event at or after `timeOfDayMs`. */
  private lowerBound(timeOfDayMs: number): number {
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.events[mid]!.timeOfDayMs < timeOfDayMs) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /** Advances by the wall time elapsed since the last tick (while started and not paused). */
  private catchUp(): void {
    if (this.timer !== null && !this.stepping) {
      this.tick();
    }
  }

  private tick(): void {
    const wall = this.clock.now();
    const elapsed = Math.max(0, wall - this.lastWallMs);
    this.lastWallMs = wall;
    if (this.isPaused() || this.stepping) {
      this.carryMs = 0;
      return;
    }
    // Time arithmetic in floats is fine here: only the clock, never a price or quantity.
    const exact = elapsed * this.speedValue + this.carryMs;
    const whole = Math.floor(exact);
    this.carryMs = exact - whole;
    try {
      // At most one window per tick, so an absurd speed cannot spin through thousands of loops.
      this.advanceBy(Math.min(whole, this.windowLength));
    } catch (error) {
      this.onError(error);
    }
  }

  private guarded(action: () => void): void {
    if (this.stepping) {
      throw new Error('MarketReplay: the clock cannot be moved from inside a quote or trade listener');
    }
    this.stepping = true;
    try {
      action();
    } finally {
      this.stepping = false;
    }
  }

  /** Back to the window start of a (new) loop: the state recorded before the window, then its first events. */
  private restartWindow(): void {
    this.cursor = this.firstIndex;
    this.nowMs = this.windowStart;
    this.live.clear();
    for (const [symbol, trade] of this.openingTrades) {
      this.live.set(symbol, { quote: undefined, last: trade });
    }
    for (const event of this.openingQuotes.values()) {
      this.applyQuote(event);
    }
    this.processThrough(this.windowStart);
  }

  private processThrough(target: number): void {
    while (this.cursor < this.endIndex) {
      const event = this.events[this.cursor]!;
      if (event.timeOfDayMs > target) {
        break;
      }
      this.cursor++;
      this.nowMs = event.timeOfDayMs;
      if (event.kind === 'quote') {
        this.applyQuote(event);
      } else {
        this.applyTrade(event.trade, event.timeOfDayMs);
      }
    }
    this.nowMs = target;
  }

  private liveState(symbol: string): LiveState {
    let state = this.live.get(symbol);
    if (state === undefined) {
      state = { quote: undefined, last: undefined };
      this.live.set(symbol, state);
    }
    return state;
  }

  private applyQuote(event: QuoteEvent): void {
    const state = this.liveState(event.symbol);
    const quote: Quote = {
      symbol: event.symbol,
      bid: event.bid,
      ask: event.ask,
      bidSize: event.bidSize,
      askSize: event.askSize,
      last: state.last?.price ?? null,
      ts: event.ts,
      source: event.source,
    };
    this.stamps.set(quote, { loop: this.loopCount, timeOfDayMs: event.timeOfDayMs });
    state.quote = quote;
    for (const listener of this.quoteListeners) {
      this.call(listener, quote);
    }
  }

  private applyTrade(trade: TradePrint, timeOfDayMs: number): void {
    if (trade.lastSaleEligible) {
      const state = this.liveState(trade.symbol);
      state.last = trade;
      const previous = state.quote;
      if (previous !== undefined) {
        const quote: Quote = { ...previous, last: trade.price };
        this.stamps.set(quote, this.stamps.get(previous) ?? { loop: this.loopCount, timeOfDayMs });
        state.quote = quote;
      }
    }
    for (const listener of this.tradeListeners) {
      this.call(listener, trade);
    }
  }

  private call<T>(listener: (value: T) => void, value: T): void {
    try {
      listener(value);
    } catch (error) {
      this.onError(error);
    }
  }
}
