import type { OrderIntent } from './order-intent.js';
import type { RiskContext } from './risk-context.js';
import type { RiskDecision } from './risk-decision.js';
import type { RiskLimits } from './risk-limits.js';

/**
 * One pre-trade check: a pure function of the order, the account/market context and the limits.
 * A check that does not apply to an order approves it. Add one by writing `checks/<name>.check.ts` and
 * listing it in DEFAULT_RISK_CHECKS (risk-engine.ts) and index.ts.
 */
export type RiskCheck = (intent: OrderIntent, context: RiskContext, limits: RiskLimits) => RiskDecision;
