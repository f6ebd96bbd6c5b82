import type { Quote } from '@gateway/brokers';
import type { Decimal } from '@gateway/oms';
import type { TradingState } from './trading-state.js';

/** The account's and the market's state that a risk check needs, gathered by the caller (no I/O here). */
export interface RiskContext {
  /** The latest quote of the intent's symbol; undefined when the feed has none. */
  readonly quote: Quote | undefined;
  /** How old `quote` is, in ms on the feed's clock (`MarketDataFeed.quoteAgeMs`); null when unknown. */
  readonly quoteAgeMs: number | null;
  readonly tradingState: TradingState;
  /**
   * Why entries are blocked for this account and symbol, or null: an `unknown` order in the symbol, a
   * broker reconnect or a restart not yet reconciled (ARCHITECTURE.md). Exits stay possible.
   */
  readonly entriesBlockedReason: string | null;
  /** The account's signed position in the symbol: long > 0, short < 0, flat 0. */
  readonly positionQuantity: Decimal;
}
