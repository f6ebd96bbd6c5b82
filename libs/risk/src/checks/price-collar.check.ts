import { Decimal, parseInstrument, productKey, toDecimalString } from '@gateway/oms';
import { limitPriceOf, stopPriceOf, type OrderIntent } from '../order-intent.js';
import { currentMarket } from '../quote-prices.js';
import type { RiskContext } from '../risk-context.js';
import { APPROVED, deny, type RiskDecision } from '../risk-decision.js';
import type { RiskLimits } from '../risk-limits.js';

/** The collar that applies to one symbol: a percent of the reference price with an absolute floor. */
export interface PriceCollar {
  /** Percent of the reference price: 10 means ±10 %. */
  readonly percent: Decimal;
  /** Floor of the half-width, USD per share or contract (0: none). */
  readonly absolute: Decimal;
  /** The product key (`root:SPXW`) when `limits.productCollars` had an entry for it; null: the account's collar. */
  readonly productKey: string | null;
}

const ZERO = new Decimal(0);

/**
 * The collar for `symbol`: `limits.productCollars[productKey]` when there is one (`SPY`, `root:SPXW`: see
 * `productKey` in @gateway/oms; an unparsable symbol has none), else the account's `priceCollarPercent`
 * with `priceCollarAbsolute` (undefined: 0).
 */
export function priceCollarFor(symbol: string, limits: RiskLimits): PriceCollar {
  const collars = limits.productCollars;
  if (collars !== undefined) {
    const instrument = parseInstrument(symbol);
    const key = instrument === null ? null : productKey(instrument);
    const own = key === null || !Object.hasOwn(collars, key) ? undefined : collars[key];
    if (own !== undefined && key !== null) {
      return { percent: own.percent, absolute: own.absolute, productKey: key };
    }
  }
  return { percent: limits.priceCollarPercent, absolute: limits.priceCollarAbsolute ?? ZERO, productKey: null };
}

/**
 * Half-width of a collar around `center` (USD): max(center × percent / 100, absolute), percent or absolute,
 * whichever is wider (FIA "Best Practices for Automated Trading Risk Controls": price bands as a percent or
 * an absolute amount). `percent` overrides the collar's own (the stop collar).
 */
export function collarHalfWidth(collar: PriceCollar, center: Decimal, percent: Decimal = collar.percent): Decimal {
  return Decimal.max(center.abs().times(percent).dividedBy(100), collar.absolute);
}

/** The collar for messages: `±10 %`, `±10 % or ±0.1 USD, whichever is wider`, with the product it is for. */
export function describeCollar(collar: PriceCollar, percent: Decimal = collar.percent): string {
  const band = collar.absolute.isZero()
    ? `±${toDecimalString(percent)} %`
    : `±${toDecimalString(percent)} % or ±${toDecimalString(collar.absolute)} USD, whichever is wider`;
  return collar.productKey === null ? band : `${band} (the collar of ${collar.productKey})`;
}

/** Whether `price` lies within the collar around `center` (the edge included). */
export function withinCollar(price: Decimal, center: Decimal, halfWidth: Decimal): boolean {
  return price.minus(center).abs().lessThanOrEqualTo(halfWidth);
}

/**
 * Fat-finger guard: an order's prices must lie near the reference price (the quote's mid, or the last
 * trade without a two-sided quote); exactly at the edge passes. Denial: `risk.price_collar`. The collar is
 * `priceCollarFor` the symbol: ±percent of the reference, or ±absolute USD when that is wider (a 0.20
 * option is not collared to 0.02, below its tick).
 * - A limit price (`limit`): within the collar around the reference price, in both directions: a price far
 *   through the market (a buy far above it) would sweep the book, and one far away from it (a buy far
 *   below) is nearly always a misplaced decimal point that rests until a gap fills it by surprise.
 * - A stop price (`stop`, `stop_limit`) on its protective side, a buy stop above the reference price or a
 *   sell stop below it, rests until the market comes to it, legitimately far away (a protective stop 15 %
 *   under a long): it is bounded by `limits.stopCollarPercent` (with the collar's absolute floor), and not
 *   at all when that is undefined. A stop on the other side (a buy stop at or below the market, a sell stop
 *   at or above it) triggers at once, a market order in effect: it is held to the regular collar.
 * - The limit price of a `stop_limit` is the price it trades at once triggered, at the stop price: it is
 *   held to the regular collar around its stop price.
 * This deliberately changed: stops used to be held to ±priceCollarPercent around the reference price on
 * both sides, which denied ordinary protective stops.
 *
 * Without current market data the collar is not applied: only exits with a limit price get this far
 * (market-data check), and a collar around a stale price would block the exits that must stay
 * possible when the market has moved; a reduce-only limit order cannot add exposure.
 */
export function priceCollarCheck(intent: OrderIntent, context: RiskContext, limits: RiskLimits): RiskDecision {
  const limit = limitPriceOf(intent);
  const stop = stopPriceOf(intent);
  if (limit === null && stop === null) {
    return APPROVED;
  }
  const market = currentMarket(intent.symbol, context, limits);
  if (market.kind !== 'current') {
    return APPROVED;
  }
  const reference = market.reference.price;
  const collar = priceCollarFor(intent.symbol, limits);
  const from = `the reference price ${toDecimalString(reference)} (${market.reference.source})`;
  if (stop !== null) {
    const protective = intent.side === 'buy' ? stop.greaterThan(reference) : stop.lessThan(reference);
    if (!protective) {
      if (!withinCollar(stop, reference, collarHalfWidth(collar, reference))) {
        const triggers = intent.side === 'buy' ? 'at or below' : 'at or above';
        return deny(
          'risk.price_collar',
          `${away('stop price', stop, reference)} ${from}; the collar is ${describeCollar(collar)} ` +
            `(a ${intent.side} stop ${triggers} the market triggers at once, so it is held to the collar)`,
        );
      }
    } else if (
      limits.stopCollarPercent !== undefined &&
      !withinCollar(stop, reference, collarHalfWidth(collar, reference, limits.stopCollarPercent))
    ) {
      return deny(
        'risk.price_collar',
        `${away('stop price', stop, reference)} ${from}; a ${intent.side} stop may rest at most ` +
          `${describeCollar(collar, limits.stopCollarPercent)} away (the stop collar)`,
      );
    }
  }
  if (limit !== null) {
    const center = stop ?? reference;
    if (!withinCollar(limit, center, collarHalfWidth(collar, center))) {
      const of = stop === null ? from : `its stop price ${toDecimalString(stop)}`;
      return deny(
        'risk.price_collar',
        `${away('limit price', limit, center)} ${of}; the collar is ${describeCollar(collar)}`,
      );
    }
  }
  return APPROVED;
}

/** `limit price 184.16 is 10.01 % from`, the percent to 2 places. */
function away(name: string, price: Decimal, center: Decimal): string {
  const percent = price.minus(center).abs().times(100).dividedBy(center).toDecimalPlaces(2);
  return `${name} ${toDecimalString(price)} is ${toDecimalString(percent)} % from`;
}
