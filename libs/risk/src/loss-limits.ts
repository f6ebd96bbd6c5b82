import type { RiskLimits } from './risk-limits.js';

/** The loss limits, in the order `lossLimitWidenings` reports them. */
export const LOSS_LIMITS = ['maxDailyLoss', 'maxPositionLoss'] as const satisfies readonly (keyof RiskLimits)[];

/** The name of a loss limit in `RiskLimits`: `maxDailyLoss` or `maxPositionLoss`. */
export type LossLimit = (typeof LOSS_LIMITS)[number];

/**
 * The loss limits that a change from `before` to `after` would widen (ARCHITECTURE.md "Trading
 * authority": "Limits on loss may be tightened after an entry, never widened"): among `maxDailyLoss` and
 * `maxPositionLoss` (positive USD amounts), each one raised, or switched off (undefined) when it was set.
 * Lowering one, keeping it, or setting one that was off is tightening. Empty: nothing is widened. The
 * gateway answers a widening PUT of the limits with `risk.loss_limit_widening`.
 */
export function lossLimitWidenings(before: RiskLimits, after: RiskLimits): LossLimit[] {
  return LOSS_LIMITS.filter((name) => {
    const was = before[name];
    const will = after[name];
    return was !== undefined && (will === undefined || will.greaterThan(was));
  });
}
