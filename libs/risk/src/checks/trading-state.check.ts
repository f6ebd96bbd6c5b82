import type { OrderIntent } from '../order-intent.js';
import type { RiskContext } from '../risk-context.js';
import { APPROVED, deny, type RiskDecision } from '../risk-decision.js';
import { exitReduction } from '../working-orders.js';

/**
 * Trading authority (ARCHITECTURE.md): `halted` denies every order, exits included
 * (`risk.trading_halted`). `reducing`, or entries blocked for any reason, accepts only orders that
 * reduce the current position without flipping it (`risk.entries_blocked`); the reason says which
 * restriction applies and why the order is not a reduction. An exit is sized against the confirmed
 * position less the other working orders on its side (an `unknown` order included: it may have filled),
 * so that no combination of fills can flip the position (`exitReduction`).
 */
export function tradingStateCheck(intent: OrderIntent, context: RiskContext): RiskDecision {
  if (context.tradingState === 'halted') {
    return deny('risk.trading_halted', 'trading is halted for this account: no orders are accepted, exits included');
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
