import { expiryTradingEnd, formatSessionTime, lastTradingDate } from '@gateway/oms';
import type { OrderIntent } from '../order-intent.js';
import type { RiskContext } from '../risk-context.js';
import { APPROVED, deny, type RiskDecision } from '../risk-decision.js';
import type { RiskLimits } from '../risk-limits.js';
import { exitReduction } from '../working-orders.js';
import { symbolProduct } from './product.check.js';

const MS_PER_MINUTE = 60_000;

/**
 * The calendar of an option's last day, on the market's clock (`context.marketNow ?? context.now`, epoch
 * ms; approved when neither is given, and for shares and unsupported products):
 * - expired: at or after its trading end (`expiryTradingEnd` in @gateway/oms: SPXW, XSP, SPY, QQQ, IWM
 *   16:00 ET on the expiration date; AM-settled SPX 16:15 ET the business day before) no order can trade
 *   in it, exits included: `risk.instrument_expired`, naming the day and time it stopped trading.
 * - 0DTE cutoff: with `limits.zeroDteCutoffMinutes` = m, from m minutes before the trading end until it,
 *   orders that open or add to a position are denied (`risk.opening_cutoff`): an option entered in its
 *   last minutes cannot be managed before it stops trading and settles. Exits, orders that reduce the
 *   position without flipping it with the working orders on their side counted (`exitReduction`), pass.
 *   The window is measured back from the trading end, so for the PM-settled products it lies on the
 *   expiration date (0DTE); for AM-settled SPX it lies on the eve of expiration, its last trading day.
 *   At exactly the cutoff instant the order is denied. A cutoff of 0 denies nothing.
 * Half-day early closes and holidays are not modelled (see `expiryTradingEnd`).
 */
export function expiryCheck(intent: OrderIntent, context: RiskContext, limits: RiskLimits): RiskDecision {
  const now = context.marketNow ?? context.now;
  if (now === undefined) {
    return APPROVED;
  }
  const found = symbolProduct(intent.symbol);
  if (found === null || found.instrument.kind !== 'option' || found.product === null) {
    return APPROVED;
  }
  const { instrument: option, product } = found;
  if (product.kind !== 'index_option' && product.kind !== 'etf_option') {
    return APPROVED; // an option's product is an option product; this narrows the type
  }
  const end = expiryTradingEnd(product, option);
  const close = `${formatSessionTime(product.lastTradingDayClose)} ET on ${lastTradingDate(product, option)}`;
  if (now >= end) {
    return deny(
      'risk.instrument_expired',
      `${intent.symbol} (expiration ${option.expiry}) stopped trading at ${close}: no order can trade in it`,
    );
  }
  const cutoff = limits.zeroDteCutoffMinutes;
  if (cutoff === undefined || now < end - cutoff * MS_PER_MINUTE) {
    return APPROVED;
  }
  const exit = exitReduction(intent, context);
  if (exit.reduces) {
    return APPROVED;
  }
  return deny(
    'risk.opening_cutoff',
    `${intent.symbol} stops trading at ${close}, and orders that open or add to a position are not accepted ` +
      `in its last ${cutoff} minutes: only orders that reduce the position are, and ${exit.why}`,
  );
}
