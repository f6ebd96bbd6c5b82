import { Decimal } from '@gateway/oms';
import type { MarketDataFeed, Quote, QuoteListener } from '../market-data.js';
import type { AlpacaLogger } from '../alpaca/alpaca-client.js';
import { fromSchwabSymbol, toSchwabSymbol } from './schwab-symbol.js';

/** The streamer's level-one services (PROTOCOLS.md A4, PDF §3.1–§3.2). */
export type SchwabLevelOneService = 'LEVELONE_EQUITIES' | 'LEVELONE_OPTIONS';

/** A request of the feed to the streamer, sent by the client on its one connection (PDF §1.2). */
export interface SchwabStreamRequest {
  readonly service: SchwabLevelOneService;
  readonly command: 'SUBS' | 'ADD';
  readonly parameters: { readonly keys: string; readonly fields: string };
}

/**
 * The numbered fields the feed reads, per service (PROTOCOLS.md A4): LEVELONE_EQUITIES 1 bid, 2 ask, 3 last,
 * 4 bid size, 5 ask size, 34 quote time (epoch ms); LEVELONE_OPTIONS 2 bid, 3 ask, 4 last, 16 bid size,
 * 17 ask size, 38 quote time (epoch ms). Field 0 is the symbol (the item's `key`).
 */
const FIELDS: Readonly<
  Record<
    SchwabLevelOneService,
    { bid: string; ask: string; last: string; bidSize: string; askSize: string; quoteTime: string }
  >
> = {
  LEVELONE_EQUITIES: { bid: '1', ask: '2', last: '3', bidSize: '4', askSize: '5', quoteTime: '34' },
  LEVELONE_OPTIONS: { bid: '2', ask: '3', last: '4', bidSize: '16', askSize: '17', quoteTime: '38' },
};
const SUBSCRIBED_FIELDS: Readonly<Record<SchwabLevelOneService, string>> = {
  LEVELONE_EQUITIES: '0,1,2,3,4,5,34',
  LEVELONE_OPTIONS: '0,2,3,4,16,17,38',
};

/** What is known of one symbol since its subscription on the current connection (partial updates merged). */
interface Merged {
  bid?: Decimal;
  ask?: Decimal;
  last?: Decimal | null;
  bidSize?: Decimal;
  askSize?: Decimal;
  quoteTime?: number;
  delayed: boolean;
  quote?: Quote;
}

export interface SchwabMarketDataConfig {
  /** The broker's name (`schwab`): the quotes' `source`. */
  readonly venue: string;
  /** How the feed logs (pino's shape; the client's SchwabLogger). */
  readonly logger: AlpacaLogger;
  /** The wall clock, epoch ms (Schwab's quote times are epoch ms); default Date.now. */
  readonly now?: () => number;
  /** How long `awaitQuote` waits for a symbol's first quote after its subscription was sent, ms; default 1500. */
  readonly firstQuoteWaitMs?: number;
}

/**
 * The quotes of Schwab's streamer (LEVELONE_EQUITIES, LEVELONE_OPTIONS; PROTOCOLS.md A4) as a MarketDataFeed,
 * for the risk checks of the accounts at Schwab. It rides on the SchwabClient's streamer connection (Schwab
 * allows one connection per user, PDF §1.2): the client hands it the connection once logged in (`attach`) and
 * every LEVELONE data item (`onData`), and tells it when the connection is gone (`detach`).
 *
 * - Subscriptions are on demand: the first `getQuote` (or `awaitQuote`) of a symbol subscribes it (ADD, its
 *   service by asset type), and a new connection subscribes every symbol asked for so far (SUBS).
 * - Delivery is "Change" (PDF §3): the first item of a symbol carries every field, later ones only what
 *   changed; they are merged field by field. A symbol is quoted once bid, ask and the quote time (field 34,
 *   options 38) are known; before that it is unknown (`getQuote` undefined), never a made-up price. Sizes not
 *   yet sent read 0, `last` null.
 * - Prices and sizes are decimals from the wire's JSON numbers (doubles) by their shortest decimal form (what
 *   Schwab wrote, for any price of up to 15 significant digits) or decimal strings; never float arithmetic.
 *   A field that is not a finite non-negative number is ignored (the field keeps its previous value).
 * - The quote's `ts` is Schwab's quote time; its age is the wall clock minus that (`quoteAgeMs`, never
 *   negative). An item marked `delayed: true` (no real-time entitlement) makes the symbol unknown: a delayed
 *   quote is not the market now.
 * - When the connection is gone (drop, stall, close) every quote is forgotten: after a reconnect only what the
 *   new subscription sends counts, so no partial update is ever merged into a quote from before the gap.
 * - `marketNow` is null for every symbol: a live feed, whose clock is the wall clock (the gateway keeps the
 *   deployment's calendar for session and expiry rules; README, "Brokers").
 * A subscription Schwab refuses (a response code other than 0, e.g. 19 symbol limit, PDF §1.4) is logged;
 * those symbols stay unknown.
 */
export class SchwabMarketDataFeed implements MarketDataFeed {
  private readonly now: () => number;
  private readonly firstQuoteWaitMs: number;
  /** Every symbol asked for (our symbol → its service and Schwab symbol), in the order asked. */
  private readonly wanted = new Map<string, { service: SchwabLevelOneService; key: string }>();
  /** Schwab symbol → ours, for the items' `key`. */
  private readonly ours = new Map<string, string>();
  private readonly merged = new Map<string, Merged>();
  /** When the subscription of each symbol was sent on the current connection (epoch ms). */
  private readonly subscribedAt = new Map<string, number>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly listeners = new Set<QuoteListener>();
  private send: ((request: SchwabStreamRequest) => void) | null = null;

  constructor(private readonly config: SchwabMarketDataConfig) {
    this.now = config.now ?? Date.now;
    this.firstQuoteWaitMs = config.firstQuoteWaitMs ?? 1_500;
  }

  // ---- MarketDataFeed ----

  /** The merged quote of `symbol`, or undefined while it is not (yet) fully quoted; subscribes it on first ask. */
  getQuote(symbol: string): Quote | undefined {
    this.want(symbol);
    return this.merged.get(symbol)?.quote;
  }

  /** The symbols quoted now. */
  symbols(): readonly string[] {
    return [...this.merged.entries()].filter(([, m]) => m.quote !== undefined).map(([symbol]) => symbol);
  }

  /** Wall-clock ms since Schwab's quote time (field 34 / 38), at least 0. */
  quoteAgeMs(quote: Quote): number {
    return Math.max(0, this.now() - quote.ts);
  }

  /** Null: a live feed's clock is the wall clock. */
  marketNow(): number | null {
    return null;
  }

  onQuote(listener: QuoteListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Resolves once `symbol` is quoted, or when its first quote has not come `firstQuoteWaitMs` after its
   * subscription was sent (at once when it was sent longer ago, or while there is no connection). Subscribes
   * the symbol if it was not. Never rejects.
   */
  awaitQuote(symbol: string): Promise<void> {
    this.want(symbol);
    const sentAt = this.subscribedAt.get(symbol);
    const left = sentAt === undefined ? 0 : sentAt + this.firstQuoteWaitMs - this.now();
    if (this.merged.get(symbol)?.quote !== undefined || left <= 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const waiters = this.waiters.get(symbol) ?? new Set<() => void>();
      this.waiters.set(symbol, waiters);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, left);
      timer.unref?.();
      waiters.add(done);
    });
  }

  // ---- the client's side ----

  /** The client's connection is logged in: every symbol asked for so far is subscribed on it (SUBS). */
  attach(send: (request: SchwabStreamRequest) => void): void {
    this.send = send;
    this.subscribedAt.clear();
    const at = this.now();
    for (const service of ['LEVELONE_EQUITIES', 'LEVELONE_OPTIONS'] as const) {
      const entries = [...this.wanted.entries()].filter(([, w]) => w.service === service);
      if (entries.length > 0) {
        send({
          service,
          command: 'SUBS',
          parameters: { keys: entries.map(([, w]) => w.key).join(','), fields: SUBSCRIBED_FIELDS[service] },
        });
        entries.forEach(([symbol]) => this.subscribedAt.set(symbol, at));
      }
    }
  }

  /** The connection is gone: every quote is forgotten until the next connection's subscription sends it again. */
  detach(): void {
    this.send = null;
    this.merged.clear();
    this.subscribedAt.clear();
    for (const [symbol, waiters] of this.waiters) {
      [...waiters].forEach((done) => done());
      this.waiters.delete(symbol);
    }
  }

  /** A response of the streamer to a LEVELONE request: anything but code 0 is logged. */
  onResponse(service: string, command: string, code: unknown, message: unknown): void {
    if (code !== 0) {
      this.config.logger.warn(
        { venue: this.config.venue, service, command, code, msg: typeof message === 'string' ? message : null },
        'schwab streamer refused a quote subscription: its symbols stay without quotes',
      );
    }
  }

  /** One LEVELONE data message's items (`data[].content`), merged into the symbols' quotes. */
  onData(service: string, content: readonly unknown[]): void {
    if (service !== 'LEVELONE_EQUITIES' && service !== 'LEVELONE_OPTIONS') {
      return;
    }
    const fields = FIELDS[service];
    for (const item of content) {
      if (item === null || typeof item !== 'object') {
        continue;
      }
      const values = item as Record<string, unknown>;
      const key = typeof values['key'] === 'string' ? values['key'] : null;
      const symbol = key === null ? null : (this.ours.get(key) ?? fromSchwabSymbol(key));
      if (symbol === null || !this.wanted.has(symbol)) {
        continue; // not asked for (an old subscription's late item)
      }
      const m = this.merged.get(symbol) ?? { delayed: false };
      this.merged.set(symbol, m);
      if (typeof values['delayed'] === 'boolean') {
        m.delayed = values['delayed'];
      }
      m.bid = decimalField(values[fields.bid]) ?? m.bid;
      m.ask = decimalField(values[fields.ask]) ?? m.ask;
      m.bidSize = decimalField(values[fields.bidSize]) ?? m.bidSize;
      m.askSize = decimalField(values[fields.askSize]) ?? m.askSize;
      if (fields.last in values) {
        m.last = values[fields.last] === null ? null : (decimalField(values[fields.last]) ?? m.last);
      }
      const time = values[fields.quoteTime];
      if (typeof time === 'number' && Number.isSafeInteger(time) && time > 0) {
        m.quoteTime = time;
      }
      this.publish(symbol, m);
    }
  }

  private publish(symbol: string, m: Merged): void {
    if (m.bid === undefined || m.ask === undefined || m.quoteTime === undefined || m.delayed) {
      m.quote = undefined;
      return;
    }
    const quote: Quote = {
      symbol,
      bid: m.bid,
      ask: m.ask,
      bidSize: m.bidSize ?? new Decimal(0),
      askSize: m.askSize ?? new Decimal(0),
      last: m.last ?? null,
      ts: m.quoteTime,
      source: this.config.venue,
    };
    m.quote = quote;
    const waiters = this.waiters.get(symbol);
    if (waiters) {
      this.waiters.delete(symbol);
      [...waiters].forEach((done) => done());
    }
    for (const listener of this.listeners) {
      try {
        listener(quote);
      } catch (error) {
        this.config.logger.warn({ err: error, venue: this.config.venue }, 'schwab quote listener failed');
      }
    }
  }

  /** Subscribes `symbol` once (ADD on the current connection; the next connection's SUBS otherwise). */
  private want(symbol: string): void {
    if (this.wanted.has(symbol)) {
      return;
    }
    const instrument = toSchwabSymbol(symbol);
    if (instrument === null) {
      return; // not a symbol Schwab can quote: unknown
    }
    const service: SchwabLevelOneService = instrument.assetType === 'OPTION' ? 'LEVELONE_OPTIONS' : 'LEVELONE_EQUITIES';
    this.wanted.set(symbol, { service, key: instrument.symbol });
    this.ours.set(instrument.symbol, symbol);
    if (this.send !== null) {
      this.send({
        service,
        command: 'ADD',
        parameters: { keys: instrument.symbol, fields: SUBSCRIBED_FIELDS[service] },
      });
      this.subscribedAt.set(symbol, this.now());
    }
  }
}

/** A wire number (a double, read by its shortest decimal form) or decimal string, finite and ≥ 0; else null. */
function decimalField(value: unknown): Decimal | null {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) {
    return new Decimal(String(value));
  }
  if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value)) {
    return new Decimal(value);
  }
  return null;
}
