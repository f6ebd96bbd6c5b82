import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * LOBSTER's 10-level AAPL sample (README of the market data, section "AAPL"): 999 messages and the book
 * after each, 2012-06-21 from 09:30:00.004 ET, 49 s of trading. Format (LOBSTER's documentation, "Output":
 * orderbook file): per row and level 1..10 `ask price, ask size, bid price, bid size`, prices in dollars ×
 * 10000; an empty level has size 0. The message file's first column is the time in seconds after midnight.
 */
export const LOBSTER_AAPL = {
  symbol: 'AAPL',
  date: '2012-06-21',
  messages: 'lobster_AAPL_2012-06-21_first999_message_10.csv',
  books: 'lobster_AAPL_2012-06-21_first999_orderbook_10.csv',
} as const;
export const BOOK_LEVELS = 10;

/**
 * Level weights of the WOBI: w_i = 1/i, so the touch counts most and level 10 a tenth of it (our choice:
 * a harmonic decay, the simplest that lets the deeper levels count without outvoting the touch). The
 * imbalance over several levels is after Cao, Hansch & Wang (2009), "The information content of an open
 * limit-order book", Journal of Futures Markets 29(1), 16–41.
 */
export const WOBI_WEIGHTS: readonly number[] = Array.from({ length: BOOK_LEVELS }, (_, i) => 1 / (i + 1));

/** One book of the file: seconds after midnight ET, and per level 1..10 the ask and bid sizes (shares). */
export interface DepthBook {
  readonly time: number;
  readonly askSizes: readonly number[];
  readonly bidSizes: readonly number[];
  /** Best bid and ask in dollars × 10000, as LOBSTER gives them. */
  readonly bestBid: number;
  readonly bestAsk: number;
}

/** The figures of the book in force (the cockpit's Order book panel). */
export interface BookFigures {
  readonly symbol: string;
  readonly date: string;
  /** Recorded time of the book, `HH:MM:SS.mmm` ET. */
  readonly time: string;
  /** Dollars, 2 places. */
  readonly bestBid: string;
  readonly bestAsk: string;
  /**
   * Weighted order book imbalance in [-1, 1]: WOBI = Σ w_i (B_i − A_i) / Σ w_i (B_i + A_i), B_i and A_i
   * the bid and ask sizes at level i, w_i = WOBI_WEIGHTS[i] = 1/i; > 0 bid-heavy.
   */
  readonly wobi: number;
  /** Liquidity imbalance over the 10 levels unweighted, %: 100 · (ΣB − ΣA) / (ΣB + ΣA). */
  readonly imbalancePercent: number;
  /** Per level 1..10: (B_i − A_i) / (B_i + A_i), 0 for an empty level (the heatmap's column). */
  readonly levels: readonly number[];
}

/**
 * Reads the books of the sample and their message times from `dir`; null when the files are not there
 * (the replay then has no depth). Throws on a file that is there but unreadable.
 */
export function loadLobsterBooks(dir: string): DepthBook[] | null {
  const messages = join(dir, LOBSTER_AAPL.messages);
  const books = join(dir, LOBSTER_AAPL.books);
  if (!existsSync(messages) || !existsSync(books)) {
    return null;
  }
  const times = readFileSync(messages, 'utf8')
    .trim()
    .split('\n')
    .map((line) => Number(line.slice(0, line.indexOf(','))));
  return readFileSync(books, 'utf8')
    .trim()
    .split('\n')
    .map((line, row) => {
      const cols = line.split(',').map(Number);
      const askSizes: number[] = [];
      const bidSizes: number[] = [];
      for (let level = 0; level < BOOK_LEVELS; level++) {
        askSizes.push(cols[level * 4 + 1] ?? 0);
        bidSizes.push(cols[level * 4 + 3] ?? 0);
      }
      return { time: times[row] ?? 0, askSizes, bidSizes, bestAsk: cols[0] ?? 0, bestBid: cols[2] ?? 0 };
    });
}

/** The WOBI, the liquidity imbalance and the per-level imbalances of one book (see BookFigures). */
export function bookFigures(book: DepthBook): BookFigures {
  let weightedDiff = 0;
  let weightedSum = 0;
  let bids = 0;
  let asks = 0;
  const levels: number[] = [];
  for (let i = 0; i < BOOK_LEVELS; i++) {
    const b = book.bidSizes[i] ?? 0;
    const a = book.askSizes[i] ?? 0;
    const w = WOBI_WEIGHTS[i] ?? 0;
    weightedDiff += w * (b - a);
    weightedSum += w * (b + a);
    bids += b;
    asks += a;
    levels.push(b + a === 0 ? 0 : round((b - a) / (b + a)));
  }
  const seconds = book.time;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return {
    symbol: LOBSTER_AAPL.symbol,
    date: LOBSTER_AAPL.date,
    time: `${pad(h)}:${pad(m)}:${s.toFixed(3).padStart(6, '0')}`,
    bestBid: (book.bestBid / 10_000).toFixed(2),
    bestAsk: (book.bestAsk / 10_000).toFixed(2),
    wobi: weightedSum === 0 ? 0 : round(weightedDiff / weightedSum),
    imbalancePercent: bids + asks === 0 ? 0 : round((100 * (bids - asks)) / (bids + asks)),
    levels,
  };
}

const pad = (n: number) => String(n).padStart(2, '0');
const round = (n: number) => Math.round(n * 10_000) / 10_000;

/**
 * The depth books on a replay's clock: `at(timeOfDayMs)` is the book in force at that time of day, the
 * sample's recorded times taken as times of day and looped over its span (49 s): at T the book recorded
 * at first + ((T − first) mod span), the first book before the first time. So while the replay's clock
 * runs (at its speed, paused with it) the book of 09:30:05 is in force at 09:30:05 on the first pass.
 */
export class DepthBookReplay {
  private readonly first: number;
  private readonly spanMs: number;
  private cursor = 0;
  private lastTarget = -Infinity;
  private lastFigures: BookFigures | null = null;
  private lastCursor = -1;

  constructor(private readonly books: readonly DepthBook[]) {
    this.first = (books[0]?.time ?? 0) * 1_000;
    const last = (books[books.length - 1]?.time ?? 0) * 1_000;
    this.spanMs = Math.max(1_000, last - this.first + 1_000);
  }

  at(timeOfDayMs: number): BookFigures | null {
    if (this.books.length === 0) {
      return null;
    }
    const target = timeOfDayMs <= this.first ? this.first : this.first + ((timeOfDayMs - this.first) % this.spanMs);
    if (target < this.lastTarget) {
      this.cursor = 0; // a new pass (or the replay stepped back)
    }
    this.lastTarget = target;
    while (this.cursor + 1 < this.books.length && (this.books[this.cursor + 1]?.time ?? Infinity) * 1_000 <= target) {
      this.cursor++;
    }
    if (this.cursor !== this.lastCursor || this.lastFigures === null) {
      this.lastCursor = this.cursor;
      this.lastFigures = bookFigures(this.books[this.cursor]!);
    }
    return this.lastFigures;
  }
}

/** A feed that carries a depth book (the paper venue's MarketReplay). */
export interface OrderBookSource {
  orderBook(): BookFigures | null;
}

/** Whether `feed` carries a depth book (a replay does; a live feed may not). */
export function hasOrderBook(feed: object): feed is OrderBookSource {
  return typeof (feed as Partial<OrderBookSource>).orderBook === 'function';
}
