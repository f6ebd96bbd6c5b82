import { toDecimalString, type Decimal, type OrderSide, type Quote } from '@gateway/oms';
import type { RiskContext } from './risk-context.js';
import type { RiskLimits } from './risk-limits.js';

/** Where a reference price came from: the mid of a two-sided quote, or the last trade. */
export type ReferenceSource = 'mid' | 'last';

export interface ReferencePrice {
  readonly price: Decimal;
  readonly source: ReferenceSource;
}

/** A quote with both sides present (> 0) and not crossed (bid ≤ ask; a locked market counts). */
export function isTwoSided(quote: Quote): boolean {
  return quote.bid.greaterThan(0) && quote.ask.greaterThan(0) && quote.bid.lessThanOrEqualTo(quote.ask);
}

/**
 * The price the market is at: the mid of a two-sided quote, else the last trade, else null (a one-sided
 * or crossed quote without trades says nothing reliable about the price).
 */
export function referencePrice(quote: Quote): ReferencePrice | null {
  if (isTwoSided(quote)) {
    return { price: quote.bid.plus(quote.ask).dividedBy(2), source: 'mid' };
  }
  if (quote.last !== null && quote.last.greaterThan(0)) {
    return { price: quote.last, source: 'last' };
  }
  return null;
}

/**
 * The price a marketable order on `side` would trade at now: the ask for a buy, the bid for a sell.
 * When that side of the book is empty, the reference price stands in; null when there is none either.
 */
export function marketablePrice(side: OrderSide, quote: Quote): Decimal | null {
  const touch = side === 'buy' ? quote.ask : quote.bid;
  return touch.greaterThan(0) ? touch : (referencePrice(quote)?.price ?? null);
}

export type CurrentMarket =
  | { readonly kind: 'current'; readonly quote: Quote; readonly reference: ReferencePrice }
  | { readonly kind: 'unavailable'; readonly reason: string };

/**
 * The context's quote when it is current market data for `symbol`: present, for that symbol, no older
 * than `limits.maxQuoteAgeMs` (an age exactly at the limit is current; an unknown age is not), and with
 * a reference price. Otherwise why not, for a denial's reason.
 */
export function currentMarket(symbol: string, context: RiskContext, limits: RiskLimits): CurrentMarket {
  const { quote, quoteAgeMs } = context;
  if (quote === undefined) {
    return { kind: 'unavailable', reason: `no quote for ${symbol}` };
  }
  if (quote.symbol !== symbol) {
    // A caller bug, but failing closed costs nothing: a quote of another symbol is no quote of this one.
    return { kind: 'unavailable', reason: `no quote for ${symbol} (got one for ${quote.symbol})` };
  }
  if (quoteAgeMs === null || !(quoteAgeMs <= limits.maxQuoteAgeMs)) {
    const age = quoteAgeMs === null ? 'of unknown age' : `${quoteAgeMs} ms old`;
    return { kind: 'unavailable', reason: `the quote for ${symbol} is ${age} (limit ${limits.maxQuoteAgeMs} ms)` };
  }
  const reference = referencePrice(quote);
  if (reference === null) {
    return {
      kind: 'unavailable',
      reason: `the quote for ${symbol} has no usable price (bid ${toDecimalString(quote.bid)}, ask ${toDecimalString(quote.ask)}, no last trade)`,
    };
  }
  return { kind: 'current', quote, reference };
}
