import { Decimal, parseInstrument, type MarketDataFeed, type Position } from '@gateway/oms';
import { referencePrice } from '@gateway/risk';

/** A position at the current quote: USD, the contract multiplier applied; null without a current quote. */
export interface PositionValuation {
  /** The price the position is marked at (per share or contract), or null. */
  readonly mark: Decimal | null;
  /** quantity × mark × multiplier (signed: a short is negative), or null. */
  readonly marketValue: Decimal | null;
  /** (mark − averagePrice) × quantity × multiplier, or null. */
  readonly unrealizedPnl: Decimal | null;
}

const NONE: PositionValuation = { mark: null, marketValue: null, unrealizedPnl: null };
const ZERO = new Decimal(0);

/** The contract multiplier of a symbol: 100 for an OSI option, 1 for a ticker (and anything unparsable). */
export function multiplierOf(symbol: string): Decimal {
  return parseInstrument(symbol)?.multiplier ?? new Decimal(1);
}

/**
 * The mark of `symbol` now: the mid of a two-sided quote, else its last trade (`referencePrice`, the risk
 * checks' reference price), from a quote no older than `maxQuoteAgeMs` on the feed's clock (the risk
 * checks' staleness limit, RISK_MAX_QUOTE_AGE_MS). Null when there is no such quote.
 */
export function currentMark(market: MarketDataFeed, symbol: string, maxQuoteAgeMs: number): Decimal | null {
  const quote = market.getQuote(symbol);
  if (quote === undefined) {
    return null;
  }
  const age = market.quoteAgeMs(quote);
  if (!(age <= maxQuoteAgeMs)) {
    return null;
  }
  return referencePrice(quote)?.price ?? null;
}

/**
 * Values a position at the current mark (`currentMark`). A flat position is worth 0 with 0 unrealised
 * P&L whatever the market; an open one without a current quote is all nulls.
 */
export function valuePosition(position: Position, market: MarketDataFeed, maxQuoteAgeMs: number): PositionValuation {
  const mark = currentMark(market, position.symbol, maxQuoteAgeMs);
  if (position.quantity.isZero()) {
    return { mark, marketValue: ZERO, unrealizedPnl: ZERO };
  }
  if (mark === null) {
    return NONE;
  }
  const units = position.quantity.times(multiplierOf(position.symbol));
  return {
    mark,
    marketValue: units.times(mark),
    unrealizedPnl: units.times(mark.minus(position.averagePrice)),
  };
}
