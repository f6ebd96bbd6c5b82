import { Decimal } from '@gateway/oms';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { canonicalLimits, configuredRiskLimits, riskLimitsSchema, toRiskLimits } from './risk-limits.schema.js';

const defaults = configuredRiskLimits(loadConfig({}));

describe('risk limits in the API form', () => {
  it('the configured defaults are a valid PUT body, and read back unchanged', () => {
    expect(riskLimitsSchema.parse(defaults)).toEqual(defaults);
  });

  it('refuses a body that leaves a limit out, so a PUT never switches one off by omission', () => {
    const { maxDailyLoss: _left, ...partial } = { ...defaults, maxDailyLoss: '500' };
    expect(riskLimitsSchema.safeParse(partial).success).toBe(false);
    expect(riskLimitsSchema.safeParse({ ...defaults, maxDailyLos: '1' }).success).toBe(false);
    expect(riskLimitsSchema.safeParse({ ...defaults, maxOrderQuantity: 10 }).success).toBe(false);
    expect(riskLimitsSchema.safeParse({ ...defaults, maxOrderQuantity: '0' }).success).toBe(false);
  });

  it('null switches a limit off in the engine; a value switches it on, as a Decimal', () => {
    const off = toRiskLimits(defaults);
    expect('maxDailyLoss' in off).toBe(false);
    const on = toRiskLimits({
      ...defaults,
      maxDailyLoss: '2500.50',
      allowMarketOrders: false,
      productCollars: { 'root:SPXW': { percent: '20', absolute: '0.5' } },
    });
    expect(on.maxDailyLoss).toEqual(new Decimal('2500.5'));
    expect(on.allowMarketOrders).toBe(false);
    expect(on.productCollars?.['root:SPXW']?.absolute).toEqual(new Decimal('0.5'));
  });

  it('stores decimals canonically', () => {
    const body = canonicalLimits({ ...defaults, maxOrderQuantity: '100.00', maxDailyLoss: '0500.10' });
    expect(body.maxOrderQuantity).toBe('100');
    expect(body.maxDailyLoss).toBe('500.1');
  });
});
