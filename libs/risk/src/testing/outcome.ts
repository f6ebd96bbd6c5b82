import type { RiskCode, RiskDecision } from '../risk-decision.js';

/** A decision as one comparable value for table tests: 'approved' or the denial code. */
export function outcome(decision: RiskDecision): 'approved' | RiskCode {
  return decision.kind === 'approved' ? 'approved' : decision.code;
}
