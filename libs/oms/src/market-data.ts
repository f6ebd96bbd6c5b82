import type { Decimal } from './decimal.js';

/**
 * Top of book for one instrument. Prices in dollars, sizes in shares or contracts. `ts` is the epoch ms
 * of the recorded market time of the quote; `source` names the data set it came from.
 */
export interface Quote {
  readonly symbol: string;
  readonly bid: Decimal;
  readonly ask: Decimal;
  readonly bidSize: Decimal;
  readonly askSize: Decimal;
  /** Last trade price, when the data has trades for the instrument. */
  readonly last: Decimal | null;
  readonly ts: number;
  readonly source: string;
}

export type QuoteListener = (quote: Quote) => void;

/** Where quotes come from (the paper replay now; a live feed later). */
export interface MarketDataFeed {
  /** The latest quote of `symbol`, or undefined when there is none (yet). */
  getQuote(symbol: string): Quote | undefined;
  /** Symbols this feed can quote (OSI symbols padded). */
  symbols(): readonly string[];
  /**
   * How old `quote` is now, in ms, on the feed's own clock. For a replay this is measured in recorded
   * market time on the quote's own recorded day (data sets of different days replay side by side at
   * the same time of day), so it is never a wall-clock difference.
   */
  quoteAgeMs(quote: Quote): number;
  /**
   * Now on the feed's clock for `symbol`, epoch ms: what session, expiry and 0DTE rules compare with. A
   * replay answers the replay's time of day on the day the symbol's data was recorded (an SPXW option of a
   * replayed expiry day is 0DTE whatever the wall clock says); null for a symbol the feed does not carry
   * (the caller then uses the wall clock, as a live feed would).
   */
  marketNow(symbol: string): number | null;
  onQuote(listener: QuoteListener): () => void;
  /**
   * For a feed that subscribes symbols on demand (a broker's streamer): resolves once `symbol` has a quote,
   * or after the feed's own bound on the wait for its first one; never rejects. A feed that carries every
   * symbol from the start has none (there is nothing to wait for).
   */
  awaitQuote?(symbol: string): Promise<void>;
}
