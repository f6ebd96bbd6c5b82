import { toDecimalString } from '@gateway/oms';
import type { OrderIntent } from '../order-intent.js';
import { currentMarket } from '../quote-prices.js';
import type { RiskContext } from '../risk-context.js';
import { APPROVED, deny, type RiskDecision } from '../risk-decision.js';
import type { RiskLimits } from '../risk-limits.js';
import { exitReduction } from '../working-orders.js';
import { collarHalfWidth, describeCollar, priceCollarFor, withinCollar } from './price-collar.check.js';

/**
 * Trading authority (ARCHITECTURE.md "Trading authority"; the issue: the kill switch "blocks new entries
 * at once, cancels every working order, and leaves exits possible as bounded marketable limits").
 * - `halted`: entries are denied (`risk.trading_halted`). An exit, an order that reduces the confirmed
 *   position without flipping it with the working orders on its side counted (`exitReduction`), is
 *   accepted only as a `limit` order whose limit price lies within the price collar (`priceCollarFor`:
 *   percent or absolute, product collars included) around the current reference price: market, stop and
 *   stop_limit exits are denied, and so is every exit without current market data (`currentMarket`),
 *   since its price cannot be bounded then; all with `risk.trading_halted` and a reason saying which.
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

const HALTED = 'trading is halted for this account';

function haltedExit(intent: OrderIntent, context: RiskContext, limits: RiskLimits): RiskDecision {
  const reduction = exitReduction(intent, context);
  if (!reduction.reduces) {
    return deny(
      'risk.trading_halted',
      `${HALTED}: no entries are accepted, only exits as limit orders within the price collar, and ${reduction.why}`,
    );
  }
  if (intent.type !== 'limit' || intent.limitPrice === null) {
    return deny(
      'risk.trading_halted',
      `${HALTED}: an exit is accepted only as a limit order within the price collar, and this is a ${intent.type} order`,
    );
  }
  const market = currentMarket(intent.symbol, context, limits);
  if (market.kind !== 'current') {
    return deny(
      'risk.trading_halted',
      `${HALTED}: an exit is accepted only as a limit order within the price collar around the current ` +
        `price, and without current market data it cannot be bounded (${market.reason})`,
    );
  }
  const reference = market.reference.price;
  const collar = priceCollarFor(intent.symbol, limits);
  const halfWidth = collarHalfWidth(collar, reference);
  if (withinCollar(intent.limitPrice, reference, halfWidth)) {
    return APPROVED;
  }
  return deny(
    'risk.trading_halted',
    `${HALTED}: an exit is accepted only as a limit order within the price collar, and the limit price ` +
      `${toDecimalString(intent.limitPrice)} is outside ${toDecimalString(reference.minus(halfWidth))}–` +
      `${toDecimalString(reference.plus(halfWidth))} (${describeCollar(collar)} around the reference price ` +
      `${toDecimalString(reference)}, ${market.reference.source})`,
  );
}
