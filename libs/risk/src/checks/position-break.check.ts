import { Decimal, toDecimalString } from '@gateway/oms';
import type { OrderIntent } from '../order-intent.js';
import type { RiskContext } from '../risk-context.js';
import { APPROVED, deny, type RiskDecision } from '../risk-decision.js';
import { exitReduction } from '../working-orders.js';

/**
 * Position break (position reconciliation, README "Reconciliation"): while a break in the symbol is open,
 * entries are denied (`risk.position_break`) and exits stay possible. Which position is true is not known,
 * so an exit is sized against the smaller of the two where they lie on the same side (long both, or short
 * both), the other working orders on its side counted as `exitReduction` does; where they disagree on the
 * side (or one is flat) nothing can be reduced safely and every order is denied. A clean pass or risk
 * staff's acknowledgement (`POST …/reconciliation/breaks/{id}/acknowledge`) closes the break.
 */
export function positionBreakCheck(intent: OrderIntent, context: RiskContext): RiskDecision {
  const found = context.positionBreak;
  if (!found) {
    return APPROVED;
  }
  const ours = context.positionQuantity;
  const sameSide = !ours.isZero() && !found.broker.isZero() && ours.isNegative() === found.broker.isNegative();
  const bound = sameSide ? (ours.abs().lte(found.broker.abs()) ? ours : found.broker) : new Decimal(0);
  const reduction = exitReduction(intent, { ...context, positionQuantity: bound });
  if (reduction.reduces) {
    return APPROVED;
  }
  return deny(
    'risk.position_break',
    `position break ${found.id} in ${intent.symbol}: we hold ${toDecimalString(found.ours)}, the broker reports ` +
      `${toDecimalString(found.broker)}; entries wait for a clean reconciliation pass or risk staff's ` +
      `acknowledgement, only orders that reduce both positions without flipping either are accepted, and ` +
      `${sameSide ? reduction.why : 'the two positions are not on the same side'}`,
  );
}
