import { describe, expect, it } from 'vitest';
import { lossLimitWidenings } from './loss-limits.js';
import type { RiskLimits } from './risk-limits.js';
import { d, limits } from './testing/risk-fixtures.js';

const with_ = (maxDailyLoss?: string, maxPositionLoss?: string): RiskLimits => ({
  ...limits,
  ...(maxDailyLoss === undefined ? {} : { maxDailyLoss: d(maxDailyLoss) }),
  ...(maxPositionLoss === undefined ? {} : { maxPositionLoss: d(maxPositionLoss) }),
});

describe('lossLimitWidenings', () => {
  it.each([
    ['nothing set, nothing set', with_(), with_(), []],
    ['unchanged', with_('1000', '500'), with_('1000', '500'), []],
    ['daily loss 1000 → 999.99 (tightened)', with_('1000'), with_('999.99'), []],
    ['daily loss 1000 → 1000.01 (widened)', with_('1000'), with_('1000.01'), ['maxDailyLoss']],
    ['daily loss 1000 → off (widened)', with_('1000'), with_(), ['maxDailyLoss']],
    ['daily loss off → 1000 (tightened)', with_(), with_('1000'), []],
    ['daily loss 1000 → 0 (tightened to the strictest)', with_('1000'), with_('0'), []],
    ['position loss 500 → 500.01', with_(undefined, '500'), with_(undefined, '500.01'), ['maxPositionLoss']],
    ['position loss 500 → 499.99', with_(undefined, '500'), with_(undefined, '499.99'), []],
    ['position loss 500 → off', with_(undefined, '500'), with_(), ['maxPositionLoss']],
    ['both widened', with_('1000', '500'), with_('2000'), ['maxDailyLoss', 'maxPositionLoss']],
    ['one widened, one tightened', with_('1000', '500'), with_('900', '600'), ['maxPositionLoss']],
  ] as const)('%s → %j', (_name, before, after, expected) => {
    expect(lossLimitWidenings(before, after)).toEqual(expected);
  });

  it('ignores every other limit', () => {
    expect(
      lossLimitWidenings(with_('1000'), { ...with_('1000'), maxOrderNotional: d('1e9'), priceCollarPercent: d('99') }),
    ).toEqual([]);
  });
});
