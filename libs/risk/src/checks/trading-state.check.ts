import { toDecimalString } from '@gateway/oms';
import type { OrderIntent } from '../order-intent.js';
import { currentMarket, marketablePrice } from '../quote-prices.js';
import type { RiskContext } from '../risk-context.js';
import { APPROVED, deny, type RiskDecision } from '../risk-decision.js';
import type { RiskLimits } from '../risk-limits.js';
import { exitReduction } from '../working-orders.js';

/**
 * Trading authority (ARCHITECTURE.md "Trading authority"; README, "Kill switch": it blocks new entries
 * at once, cancels every working order and leaves exits possible as bounded marketable limits).
 * - `halted`: entries are denied (`risk.trading_halted`). An exit, an order that reduces the confirmed
 *   position without flipping it with the working orders on its side counted (`exitReduction`), is
 *   accepted only as a marketable `limit` order (a sell at or below the bid, a buy at or above the ask:
 *   nothing rests after a halt) with current market data (`currentMarket`); how far through the market
 *   it may go is the price collar check's (percent or absolute, product collars included), later in the
 *   engine. Market, stop and stop_limit exits are denied, and so is every exit without current market
 *   data, since its price cannot be bounded then; all with `risk.trading_halted` and a reason saying which.
 * - `reducing`, or entries blocked for any reason: only orders that reduce the current position without
 *   flipping it are accepted (`risk.entries_blocked`), of any type; the reason says which restriction
 *   applies and why the order is not a reduction.
 * An exit is sized against the confirmed position less the other working orders on its side (an `unknown`
 * order included: it may have filled), so that no combination of fills can flip the position.
 */
export function tradingStateCheck(intent: OrderIntent, context: RiskContext, limits: RiskLimits): RiskDecision {
  if (context.tradingState === 'halted') {
    return haltedExit(intent, context, limits);
  }
  const restrictions: string[] = [];
  if (context.tradingState === 'reducing') {
    restrictions.push('the account is in reducing state');
  }
  if (context.entriesBlockedReason !== null) {
    restrictions.push(`entries are blocked (${context.entriesBlockedReason})`);
  }
  if (restrictions.length === 0) {
    return APPROVED;
  }
  const reduction = exitReduction(intent, context);
  if (reduction.reduces) {
    return APPROVED;
  }
  return deny(
    'risk.entries_blocked',
    `${restrictions.join(' and ')}: only orders that reduce the position without flipping it are accepted, and ${reduction.why}`,
  );
}

const HALTED = 'trading is halted';
const EXITS_ONLY = 'only exits as marketable limit orders inside the price collar';

function haltedExit(intent: OrderIntent, context: RiskContext, limits: RiskLimits): RiskDecision {
  const reduction = exitReduction(intent, context);
  if (!reduction.reduces) {
    return deny('risk.trading_halted', `${HALTED}: no entries are accepted, ${EXITS_ONLY}, and ${reduction.why}`);
  }
  if (intent.type !== 'limit' || intent.limitPrice === null) {
    return deny('risk.trading_halted', `${HALTED}: ${EXITS_ONLY} are accepted, and this is a ${intent.type} order`);
  }
  const market = currentMarket(intent.symbol, context, limits);
  if (market.kind !== 'current') {
    return deny(
      'risk.trading_halted',
      `${HALTED}: ${EXITS_ONLY} are accepted, and without current market data an exit cannot be bounded (${market.reason})`,
    );
  }
  // Marketable: it takes the other side at once, so nothing rests after the halt; the price collar
  // check (later in the engine) bounds how far through the market it may go.
  const other = marketablePrice(intent.side, market.quote);
  const marketable =
    other !== null && (intent.side === 'buy' ? intent.limitPrice.gte(other) : intent.limitPrice.lte(other));
  if (marketable) {
    return APPROVED;
  }
  return deny(
    'risk.trading_halted',
    `${HALTED}: ${EXITS_ONLY} are accepted, and a ${intent.side} limit of ${toDecimalString(intent.limitPrice)} ` +
      (other === null
        ? `cannot be marketable without a ${intent.side === 'buy' ? 'ask' : 'bid'}`
        : `is not marketable against the ${intent.side === 'buy' ? 'ask' : 'bid'} ${toDecimalString(other)}`),
  );
}
