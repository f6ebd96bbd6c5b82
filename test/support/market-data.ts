import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Decimal as DecimalJs } from 'decimal.js';
import { ROOT } from './gateway-process.js';

/**
 * The recorded market data as the tests read it, straight from the CSV files (never through the
 * gateway's own loader), so that an expected fill price is the data's, not the code's.
 * Units (shared/data/market/README.md): prices are dollars × 10000 integers, times ms after midnight
 * America/New_York.
 */
export const D = DecimalJs.clone({ precision: 40 });
export type D = InstanceType<typeof D>;

/** Where the gateway reads the data: MARKET_DATA_DIR (relative to the repo root) or ../shared/data/market. */
export const MARKET_DATA_DIR = resolve(ROOT, process.env.MARKET_DATA_DIR ?? '../shared/data/market');

export const SPY_SECOND_QUOTES = 'spy_20131007_second_quote_0930_1000.csv';
export const SPY_TICK_TRADES = 'spy_20131007_tick_trade_0930_1000.csv';
export const SPXW_MINUTE_QUOTES = 'spxw_options_20210104_06_08_minute_quote.csv';

/** One top-of-book state as the paper venue publishes it: prices in dollars, sizes in shares/contracts. */
export interface RecordedQuote {
  readonly timeMs: number;
  readonly bid: D;
  readonly ask: D;
  readonly bidSize: D;
  readonly askSize: D;
}

export interface RecordedTrade {
  readonly timeMs: number;
  readonly price: D;
  readonly size: D;
  readonly saleCondition: string;
  /** Whether the print is a trade at the market (see lastSaleEligible). */
  readonly eligible: boolean;
}

const price = (text: string): D => new D(text === '' ? '0' : text).dividedBy(10_000);
const size = (text: string): D => new D(text === '' ? '0' : text);

function lines(file: string): string[] {
  return readFileSync(resolve(MARKET_DATA_DIR, file), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
}

/**
 * The quotes of quote bars: the bar's open at its start `t` and, when the close differs, the close at
 * `t + barMs − 1`, both with the bar's sizes; a quote whose ask is 0 is not published. This is how the
 * paper venue replays Lean quote bars (libs/brokers/src/paper/market-data-loader.ts, pushBarQuotes).
 */
function barQuotes(
  out: RecordedQuote[],
  t: number,
  barMs: number,
  f: { bidOpen: string; bidClose: string; bidSize: string; askOpen: string; askClose: string; askSize: string },
): void {
  const emit = (timeMs: number, bid: string, ask: string) => {
    if (price(ask).isZero()) {
      return;
    }
    out.push({ timeMs, bid: price(bid), ask: price(ask), bidSize: size(f.bidSize), askSize: size(f.askSize) });
  };
  emit(t, f.bidOpen, f.askOpen);
  if (f.bidClose !== f.bidOpen || f.askClose !== f.askOpen) {
    emit(t + barMs - 1, f.bidClose, f.askClose);
  }
}

/** SPY 2013-10-07 second quote bars (no header): time, bid o/h/l/c, bid size, ask o/h/l/c, ask size. */
export function loadSpyQuotes(): RecordedQuote[] {
  const out: RecordedQuote[] = [];
  for (const line of lines(SPY_SECOND_QUOTES)) {
    const c = line.split(',');
    barQuotes(out, Number(c[0]), 1000, {
      bidOpen: c[1]!,
      bidClose: c[4]!,
      bidSize: c[5]!,
      askOpen: c[6]!,
      askClose: c[9]!,
      askSize: c[10]!,
    });
  }
  return out.sort((a, b) => a.timeMs - b.timeMs);
}

/**
 * Lean TradeConditionFlags bits (Common/Data/Auxiliary/TradeConditionFlags.cs) of prints that are not a
 * trade at the prevailing market under the CTA/UTP last-sale rules: derivatively priced (9), sold late
 * (11), out of sequence (14), average price (20), official close (24), prior reference price (25),
 * official open (26). Such prints do not fill resting orders at the paper venue.
 */
const NOT_AT_THE_MARKET_BITS = [9, 11, 14, 20, 24, 25, 26];

export function lastSaleEligible(saleCondition: string): boolean {
  if (!/^[0-9A-Fa-f]{1,8}$/.test(saleCondition)) {
    return true;
  }
  const flags = Number.parseInt(saleCondition, 16);
  return NOT_AT_THE_MARKET_BITS.every((bit) => Math.floor(flags / 2 ** bit) % 2 === 0);
}

/** SPY 2013-10-07 tick trades (no header): time, price, size, exchange, sale condition (hex), suspicious. */
export function loadSpyTrades(): RecordedTrade[] {
  const out: RecordedTrade[] = [];
  for (const line of lines(SPY_TICK_TRADES)) {
    const c = line.split(',');
    if (c[5] === '1') {
      continue; // flagged suspicious by the vendor
    }
    out.push({
      timeMs: Number(c[0]),
      price: price(c[1]!),
      size: size(c[2]!),
      saleCondition: c[4]!,
      eligible: lastSaleEligible(c[4]!),
    });
  }
  return out;
}

/** One SPXW contract's minute quote bars of one trade date (header row; see the data README, section 4). */
export function loadOptionQuotes(contract: {
  date: string;
  right: 'C' | 'P';
  strikeUsd: string;
  expiry: string;
}): RecordedQuote[] {
  const [header, ...rows] = lines(SPXW_MINUTE_QUOTES);
  const col = new Map(header!.split(',').map((name, i) => [name, i] as const));
  const at = (c: string[], name: string) => c[col.get(name)!]!;
  const out: RecordedQuote[] = [];
  for (const line of rows) {
    const c = line.split(',');
    if (
      at(c, 'date') !== contract.date ||
      at(c, 'right') !== contract.right ||
      at(c, 'strike_usd') !== contract.strikeUsd ||
      at(c, 'expiry') !== contract.expiry
    ) {
      continue;
    }
    barQuotes(out, Number(at(c, 'time_ms')), 60_000, {
      bidOpen: at(c, 'bid_open'),
      bidClose: at(c, 'bid_close'),
      bidSize: at(c, 'bid_size'),
      askOpen: at(c, 'ask_open'),
      askClose: at(c, 'ask_close'),
      askSize: at(c, 'ask_size'),
    });
  }
  return out.sort((a, b) => a.timeMs - b.timeMs);
}

/** The quote in force at `timeMs`: the latest published at or before it. */
export function quoteAt(quotes: readonly RecordedQuote[], timeMs: number): RecordedQuote | undefined {
  let found: RecordedQuote | undefined;
  for (const q of quotes) {
    if (q.timeMs > timeMs) {
      break;
    }
    found = q;
  }
  return found;
}

/** `HH:MM:SS` or `HH:MM:SS.mmm` → ms after midnight. */
export function parseTime(text: string): number {
  const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}))?$/.exec(text);
  if (!m) {
    throw new Error(`bad time ${text}`);
  }
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4] ?? 0);
}

/** ms after midnight → `HH:MM:SS.mmm`. */
export function formatTime(ms: number): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const s = Math.floor(ms / 1000);
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}.${pad(ms % 1000, 3)}`;
}

/** Canonical decimal string as the API shows it: no exponent, no trailing zeros (`"167.45"`, `"69.2"`). */
export function dec(value: D | string): string {
  return new D(value).toFixed();
}

export interface ExpectedFill {
  readonly timeMs: number;
  readonly quantity: D;
  readonly price: D;
}

/**
 * The fills an order placed at `placedAt` (replay paused there) should get as the replay steps forward
 * to `until`, under the paper venue's documented matching rules (libs/brokers/src/paper/paper-venue.ts,
 * class comment): a marketable order takes the displayed size at the touch; a day remainder takes again
 * from each later quote update whose price or size changed, while marketable; a limit order that was
 * not marketable rests and then fills at its own limit price on an at-the-market print at or through it
 * (up to the print's size) or on a quote update that reaches it (up to the displayed size); IOC keeps
 * only what the arrival quote offered. At the same ms the quote bars come before the trades.
 */
export function expectedFills(args: {
  quotes: readonly RecordedQuote[];
  trades?: readonly RecordedTrade[];
  side: 'buy' | 'sell';
  quantity: D | string;
  limit: D | string | null;
  timeInForce?: 'day' | 'ioc';
  placedAt: number;
  until: number;
}): ExpectedFill[] {
  const buy = args.side === 'buy';
  const limit = args.limit === null ? null : new D(args.limit);
  let leaves = new D(args.quantity);
  const fills: ExpectedFill[] = [];
  // Version of each side: moves only when that side's price or size changes (a new offer).
  const versions: number[] = [];
  args.quotes.forEach((q, i) => {
    const prev = args.quotes[i - 1];
    const changed =
      prev === undefined ||
      (buy
        ? !prev.ask.equals(q.ask) || !prev.askSize.equals(q.askSize)
        : !prev.bid.equals(q.bid) || !prev.bidSize.equals(q.bidSize));
    versions.push((versions[i - 1] ?? 0) + (changed && i > 0 ? 1 : 0));
  });
  const touch = (q: RecordedQuote) => (buy ? { price: q.ask, size: q.askSize } : { price: q.bid, size: q.bidSize });
  const marketable = (p: D) => limit === null || (buy ? limit.greaterThanOrEqualTo(p) : limit.lessThanOrEqualTo(p));
  let resting = false;
  let used = -1;
  const fill = (timeMs: number, quantity: D, at: D) => {
    const q = D.min(leaves, quantity);
    if (q.greaterThan(0)) {
      fills.push({ timeMs, quantity: q, price: at });
      leaves = leaves.minus(q);
    }
  };
  let index = -1;
  args.quotes.forEach((q, i) => {
    if (q.timeMs <= args.placedAt) {
      index = i;
    }
  });
  const arrival = args.quotes[index];
  const offer = arrival ? touch(arrival) : undefined;
  if (offer && offer.price.greaterThan(0) && offer.size.greaterThan(0) && marketable(offer.price)) {
    used = versions[index]!;
    fill(args.placedAt, offer.size, offer.price);
  } else if (limit !== null) {
    resting = true;
  }
  if ((args.timeInForce ?? 'day') === 'ioc') {
    return fills;
  }
  type Event = { timeMs: number; kind: 0 | 1; i: number };
  const events: Event[] = [];
  args.quotes.forEach((q, i) => {
    if (q.timeMs > args.placedAt && q.timeMs <= args.until) {
      events.push({ timeMs: q.timeMs, kind: 0, i });
    }
  });
  (args.trades ?? []).forEach((t, i) => {
    if (t.timeMs > args.placedAt && t.timeMs <= args.until && t.eligible) {
      events.push({ timeMs: t.timeMs, kind: 1, i });
    }
  });
  events.sort((a, b) => a.timeMs - b.timeMs || a.kind - b.kind || a.i - b.i);
  for (const e of events) {
    if (leaves.isZero()) {
      break;
    }
    if (e.kind === 0) {
      const q = args.quotes[e.i]!;
      const o = touch(q);
      if (!(o.price.greaterThan(0) && o.size.greaterThan(0)) || versions[e.i] === used) {
        continue;
      }
      if (marketable(o.price)) {
        used = versions[e.i]!;
        fill(q.timeMs, o.size, resting && limit !== null ? limit : o.price);
      } else if (limit !== null) {
        resting = true;
      }
    } else {
      const t = args.trades![e.i]!;
      if (resting && limit !== null && (buy ? t.price.lessThanOrEqualTo(limit) : t.price.greaterThanOrEqualTo(limit))) {
        fill(t.timeMs, t.size, limit);
      }
    }
  }
  return fills;
}
