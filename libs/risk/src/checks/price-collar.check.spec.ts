import { describe, expect, it } from 'vitest';
import type { OrderIntent } from '../order-intent.js';
import { context, d, intent, limits, quote, spxwContext, spxwIntent } from '../testing/risk-fixtures.js';
import { outcome } from '../testing/outcome.js';
import { priceCollarCheck } from './price-collar.check.js';

// SPY mid (167.40 + 167.42) / 2 = 167.41; ±10 % = [150.669, 184.151]. SPXW mid 4.90; ±10 % = [4.41, 5.39].
const buyAt = (limit: string, extra: Partial<OrderIntent> = {}) => intent({ limitPrice: d(limit), ...extra });
const sellAt = (limit: string) => intent({ side: 'sell', limitPrice: d(limit) });
const stop = (stopPrice: string, side: OrderIntent['side'] = 'buy') =>
  intent({ type: 'stop', side, limitPrice: null, stopPrice: d(stopPrice) });
const stopLimit = (stopPrice: string, limitPrice: string) =>
  intent({ type: 'stop_limit', stopPrice: d(stopPrice), limitPrice: d(limitPrice) });

describe('priceCollarCheck (±10 %)', () => {
  it.each([
    ['SPY buy limit at the mid', buyAt('167.41'), context(), 'approved'],
    ['SPY buy limit 184.15 (+9.9994 %)', buyAt('184.15'), context(), 'approved'],
    ['SPY buy limit 184.151 (exactly +10 %)', buyAt('184.151'), context(), 'approved'],
    ['SPY buy limit 184.1511', buyAt('184.1511'), context(), 'risk.price_collar'],
    ['SPY buy limit 184.16 (+10.0054 %)', buyAt('184.16'), context(), 'risk.price_collar'],
    ['SPY buy limit 150.67 (−9.9994 %)', buyAt('150.67'), context(), 'approved'],
    ['SPY buy limit 150.669 (exactly −10 %)', buyAt('150.669'), context(), 'approved'],
    ['SPY buy limit 150.66 (−10.0054 %)', buyAt('150.66'), context(), 'risk.price_collar'],
    ['SPY buy limit 16.741 (a misplaced decimal point)', buyAt('16.741'), context(), 'risk.price_collar'],
    ['SPY sell limit 184.15', sellAt('184.15'), context(), 'approved'],
    ['SPY sell limit 184.16', sellAt('184.16'), context(), 'risk.price_collar'],
    ['SPY sell limit 150.66 (far through the bid)', sellAt('150.66'), context(), 'risk.price_collar'],
    ['SPY buy stop 184.15', stop('184.15'), context(), 'approved'],
    ['SPY buy stop 184.16', stop('184.16'), context(), 'risk.price_collar'],
    ['SPY sell stop 150.66', stop('150.66', 'sell'), context(), 'risk.price_collar'],
    ['SPY stop_limit, both inside', stopLimit('170', '184.15'), context(), 'approved'],
    ['SPY stop_limit, limit outside', stopLimit('170', '184.16'), context(), 'risk.price_collar'],
    ['SPY stop_limit, stop outside', stopLimit('184.16', '170'), context(), 'risk.price_collar'],
    ['SPY market order: no price to collar', intent({ type: 'market', limitPrice: null }), context(), 'approved'],
    // one-sided quote: the last trade (160.00) is the reference; ±10 % = [144, 176]
    [
      'one-sided, last 160: buy limit 176.00',
      buyAt('176.00'),
      context({ quote: quote({ bid: d('0'), last: d('160.00') }) }),
      'approved',
    ],
    [
      'one-sided, last 160: buy limit 176.01',
      buyAt('176.01'),
      context({ quote: quote({ bid: d('0'), last: d('160.00') }) }),
      'risk.price_collar',
    ],
    [
      'one-sided, last 160: buy limit 167.41 is still fine',
      buyAt('167.41'),
      context({ quote: quote({ bid: d('0'), last: d('160.00') }) }),
      'approved',
    ],
    // SPXW options
    ['SPXW buy limit 5.39 (exactly +10 %)', spxwIntent({ limitPrice: d('5.39') }), spxwContext(), 'approved'],
    ['SPXW buy limit 5.40 (+10.2 %)', spxwIntent({ limitPrice: d('5.40') }), spxwContext(), 'risk.price_collar'],
    [
      'SPXW sell limit 4.41 (exactly −10 %)',
      spxwIntent({ side: 'sell', limitPrice: d('4.41') }),
      spxwContext(),
      'approved',
    ],
    [
      'SPXW sell limit 4.40 (−10.2 %)',
      spxwIntent({ side: 'sell', limitPrice: d('4.40') }),
      spxwContext(),
      'risk.price_collar',
    ],
    // no current market data: not applied (only limit exits get past the market-data check)
    [
      'stale quote: not applied',
      sellAt('16.741'),
      context({ quoteAgeMs: 120_001, positionQuantity: d('100') }),
      'approved',
    ],
    [
      'no quote: not applied',
      sellAt('16.741'),
      context({ quote: undefined, quoteAgeMs: null, positionQuantity: d('100') }),
      'approved',
    ],
  ] as const)('%s → %s', (_name, order, ctx, expected) => {
    expect(outcome(priceCollarCheck(order, ctx, limits))).toBe(expected);
  });

  it('uses the collar it is given', () => {
    const five = { ...limits, priceCollarPercent: d('5') };
    expect(outcome(priceCollarCheck(buyAt('175.78'), context(), five))).toBe('approved');
    expect(outcome(priceCollarCheck(buyAt('175.79'), context(), five))).toBe('risk.price_collar');
  });

  it('says why', () => {
    expect(priceCollarCheck(stopLimit('150.66', '170'), context(), limits)).toEqual({
      kind: 'denied',
      code: 'risk.price_collar',
      reason: 'stop price 150.66 is 10.01 % from the reference price 167.41 (mid); the collar is ±10 %',
    });
  });
});
