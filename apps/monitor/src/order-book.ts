import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** LOBSTER's 10-level AAPL sample (README of the market data, section "AAPL"): 999 messages and books. */
export const LOBSTER_AAPL = {
  symbol: 'AAPL',
  date: '2012-06-21',
  messages: 'lobster_AAPL_2012-06-21_first999_message_10.csv',
  books: 'lobster_AAPL_2012-06-21_first999_orderbook_10.csv',
} as const;
export const LEVELS = 10;

/**
 * Level weights of the WOBI: w_i = 1/i, so the touch counts most and level 10 a tenth of it (our
 * choice; the imbalance over several levels is Cao, Hansch & Wang (2009), "The information content of an
 * open limit-order book", Journal of Futures Markets 29(1), 16–41).
 */
export const WEIGHTS = Array.from({ length: LEVELS }, (_, i) => 1 / (i + 1));

/** One book of the file: seconds after midnight ET, and per level 1..10 the ask and bid sizes (shares). */
export interface Book {
  readonly time: number;
  readonly askSizes: readonly number[];
  readonly bidSizes: readonly number[];
  /** Best bid and ask in dollars × 10000, as LOBSTER gives them. */
  readonly bestBid: number;
  readonly bestAsk: number;
}

/** What a cockpit frame carries of the book now (BookFigures in frame.ts). */
export interface BookFigures {
  readonly symbol: string;
  readonly date: string;
  /** Recorded time of the book, `HH:MM:SS.mmm` ET. */
  readonly time: string;
  readonly bestBid: string;
  readonly bestAsk: string;
  /**
   * Weighted order book imbalance in [-1, 1]: WOBI = Σ w_i (B_i − A_i) / Σ w_i (B_i + A_i), B_i and A_i
   * the bid and ask sizes at level i, w_i = WEIGHTS[i]; > 0 bid-heavy.
   */
  readonly wobi: number;
  /** Liquidity imbalance over the 10 levels unweighted, %: 100 · (ΣB − ΣA) / (ΣB + ΣA). */
  readonly imbalancePercent: number;
  /** Per level 1..10: (B_i − A_i) / (B_i + A_i), 0 for an empty level (the heatmap's column). */
  readonly levels: readonly number[];
}

/** Reads the books and their message times; a LOBSTER empty level has size 0 and counts as nothing. */
export function loadBooks(dir: string): Book[] {
  const times = readFileSync(join(dir, LOBSTER_AAPL.messages), 'utf8')
    .trim()
    .split('\n')
    .map((line) => Number(line.slice(0, line.indexOf(','))));
  return readFileSync(join(dir, LOBSTER_AAPL.books), 'utf8')
    .trim()
    .split('\n')
    .map((line, row) => {
      const cols = line.split(',').map(Number);
      const askSizes: number[] = [];
      const bidSizes: number[] = [];
      for (let level = 0; level < LEVELS; level++) {
        askSizes.push(cols[level * 4 + 1] ?? 0);
        bidSizes.push(cols[level * 4 + 3] ?? 0);
      }
      return { time: times[row] ?? 0, askSizes, bidSizes, bestAsk: cols[0] ?? 0, bestBid: cols[2] ?? 0 };
    });
}

export function bookFigures(book: Book): BookFigures {
  let weightedDiff = 0;
  let weightedSum = 0;
  let bids = 0;
  let asks = 0;
  const levels: number[] = [];
  for (let i = 0; i < LEVELS; i++) {
    const b = book.bidSizes[i] ?? 0;
    const a = book.askSizes[i] ?? 0;
    const w = WEIGHTS[i] ?? 0;
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
 * Replays the books at recorded speed from the first, over and over (the sample holds 49 s): `at(now)`
 * is the book in force `now - startedAt` into the current pass.
 */
export class BookReplay {
  private readonly span: number;
  private cursor = 0;
  private pass = -1;

  constructor(
    private readonly books: readonly Book[],
    private readonly startedAt: number,
  ) {
    const first = books[0]?.time ?? 0;
    this.span = Math.max(1, (books[books.length - 1]?.time ?? first) - first + 1) * 1_000;
  }

  at(now: number): BookFigures | null {
    const first = this.books[0];
    if (!first) {
      return null;
    }
    const elapsed = Math.max(0, now - this.startedAt);
    const pass = Math.floor(elapsed / this.span);
    if (pass !== this.pass) {
      this.pass = pass;
      this.cursor = 0;
    }
    const target = first.time + (elapsed % this.span) / 1_000;
    while (this.cursor + 1 < this.books.length && (this.books[this.cursor + 1]?.time ?? Infinity) <= target) {
      this.cursor++;
    }
    return bookFigures(this.books[this.cursor] ?? first);
  }
}
