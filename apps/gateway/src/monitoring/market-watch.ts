import type { Decimal, MarketDataFeed, Quote } from '@gateway/oms';
import type { SymbolMarket } from './snapshot.js';

/** Mid-price changes the tick-direction entropy is computed over, per symbol. */
export const TICK_WINDOW = 64;
/** Symbols followed at most (the replay carries 13). */
const MAX_SYMBOLS = 32;

/**
 * Per symbol: the direction of each mid-price change (+1, -1, or 0 for a quote that moves no mid), the
 * last TICK_WINDOW of them in a ring, for the Shannon entropy of the Market panel. The quote listener
 * only compares two mids and writes one slot; the rest is computed when a snapshot is taken.
 */
export class MarketWatch {
  private readonly rings = new Map<
    string,
    { dirs: Int8Array; next: number; filled: number; lastMid: Decimal | null }
  >();
  private unsubscribe: (() => void) | null = null;
  /** When this instance first saw each symbol's current data veto (not a halt's). */
  private readonly vetoSince = new Map<string, number>();

  constructor(
    private readonly feed: MarketDataFeed,
    private readonly maxQuoteAgeMs: number,
  ) {}

  start(): void {
    for (const symbol of this.feed.symbols().slice(0, MAX_SYMBOLS)) {
      this.rings.set(symbol, { dirs: new Int8Array(TICK_WINDOW), next: 0, filled: 0, lastMid: null });
    }
    this.unsubscribe = this.feed.onQuote((quote) => this.onQuote(quote));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private onQuote(quote: Quote): void {
    const ring = this.rings.get(quote.symbol);
    if (!ring || quote.bid.lte(0) || quote.ask.lte(0)) {
      return;
    }
    const mid = quote.bid.plus(quote.ask);
    if (ring.lastMid !== null) {
      ring.dirs[ring.next] = mid.comparedTo(ring.lastMid);
      ring.next = (ring.next + 1) % TICK_WINDOW;
      ring.filled = Math.min(ring.filled + 1, TICK_WINDOW);
    }
    ring.lastMid = mid;
  }

  /** The followed symbols now (epoch ms `now`); `halted`: the global trading state vetoes every symbol. */
  sample(halted: string | null, now = Date.now()): SymbolMarket[] {
    const out: SymbolMarket[] = [];
    for (const [symbol, ring] of this.rings) {
      const quote = this.feed.getQuote(symbol);
      const twoSided = quote !== undefined && quote.bid.gt(0) && quote.ask.gt(0);
      const age = quote ? this.feed.quoteAgeMs(quote) : null;
      const spreadBps =
        quote && twoSided
          ? quote.ask.minus(quote.bid).div(quote.ask.plus(quote.bid).div(2)).times(10_000).toDecimalPlaces(2).toNumber()
          : null;
      const dataVeto = !quote
        ? 'no quote'
        : !twoSided
          ? 'one-sided quote'
          : quote.ask.lte(quote.bid)
            ? `crossed or locked (bid ${quote.bid.toFixed()} ≥ ask ${quote.ask.toFixed()})`
            : age !== null && (!Number.isFinite(age) || age > this.maxQuoteAgeMs)
              ? `stale quote: ${Number.isFinite(age) ? Math.round(age) : '∞'} ms > ${this.maxQuoteAgeMs} ms`
              : null;
      if (dataVeto === null) {
        this.vetoSince.delete(symbol);
      } else if (!this.vetoSince.has(symbol)) {
        this.vetoSince.set(symbol, now);
      }
      const veto = halted ?? dataVeto;
      out.push({
        symbol: symbol.trim(),
        bid: quote ? quote.bid.toFixed() : null,
        ask: quote ? quote.ask.toFixed() : null,
        spreadBps,
        quoteAgeMs: age === null || !Number.isFinite(age) ? null : Math.round(age),
        entropyBits: ring.filled === 0 ? null : entropy(ring.dirs, ring.filled),
        ticks: ring.filled,
        regime: veto === null ? 'attack' : 'veto',
        vetoReason: veto,
        dataVetoSince: dataVeto === null ? null : (this.vetoSince.get(symbol) ?? now),
      });
    }
    return out;
  }
}

/** Shannon entropy (bits) of the first `n` directions of `dirs` (order does not matter). */
export function entropy(dirs: Int8Array, n: number): number {
  let up = 0;
  let down = 0;
  for (let i = 0; i < n; i++) {
    const d = dirs[i]!;
    if (d > 0) {
      up++;
    } else if (d < 0) {
      down++;
    }
  }
  let h = 0;
  for (const c of [up, down, n - up - down]) {
    if (c > 0) {
      const p = c / n;
      h -= p * Math.log2(p);
    }
  }
  return Math.round(h * 1000) / 1000;
}
