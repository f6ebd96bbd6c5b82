import { describe, expect, it } from 'vitest';
import type { OrderIntent } from '../order-intent.js';
import type { RiskLimits } from '../risk-limits.js';
import { context, d, intent, limits, quote, spxwContext, spxwIntent, spxwQuote } from '../testing/risk-fixtures.js';
import { outcome } from '../testing/outcome.js';
import { priceCollarCheck } from './price-collar.check.js';

// SPY mid (167.40 + 167.42) / 2 = 167.41; ±10 % = [150.669, 184.151]. SPXW mid 4.90; ±10 % = [4.41, 5.39].
const buyAt = (limit: string, extra: Partial<OrderIntent> = {}) => intent({ limitPrice: d(limit), ...extra });
const sellAt = (limit: string) => intent({ side: 'sell', limitPrice: d(limit) });
const stop = (stopPrice: string, side: OrderIntent['side'] = 'buy') =>
  intent({ type: 'stop', side, limitPrice: null, stopPrice: d(stopPrice) });
const stopLimit = (stopPrice: string, limitPrice: string) =>
  intent({ type: 'stop_limit', stopPrice: d(stopPrice), limitPrice: d(limitPrice) });
const qqqContext = context({ quote: quote({ symbol: 'QQQ', bid: d('299.99'), ask: d('300.01'), last: d('300') }) });
const SPX_CALL = 'SPX   210115C03700000';
const spxIntent = (limit: string) => spxwIntent({ symbol: SPX_CALL, limitPrice: d(limit) });
const spxContext = spxwContext({ quote: spxwQuote({ symbol: SPX_CALL }) });

describe('priceCollarCheck (±10 %, no stop collar, no absolute floor)', () => {
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
    // stops on the side that triggers at once (a buy stop at or below the market) are held to the collar
    ['SPY buy stop 150.67 (below the market: triggers at once)', stop('150.67'), context(), 'approved'],
    ['SPY buy stop 150.66 (below the market: triggers at once)', stop('150.66'), context(), 'risk.price_collar'],
    ['SPY sell stop 184.15 (above the market: triggers at once)', stop('184.15', 'sell'), context(), 'approved'],
    [
      'SPY sell stop 184.16 (above the market: triggers at once)',
      stop('184.16', 'sell'),
      context(),
      'risk.price_collar',
    ],
    ['SPY buy stop at the mid', stop('167.41'), context(), 'approved'],
    // protective stops rest away from the market: without stopCollarPercent they are not bounded
    ['SPY buy stop 184.16 (protective, no stop collar)', stop('184.16'), context(), 'approved'],
    ['SPY sell stop 150.66 (protective, no stop collar)', stop('150.66', 'sell'), context(), 'approved'],
    ['SPY sell stop 16.741 (protective, no stop collar)', stop('16.741', 'sell'), context(), 'approved'],
    // a stop_limit's limit is collared around its stop price: 170 ± 10 % = [153, 187]
    ['SPY stop_limit 170, limit 187 (exactly +10 % of the stop)', stopLimit('170', '187'), context(), 'approved'],
    ['SPY stop_limit 170, limit 187.01', stopLimit('170', '187.01'), context(), 'risk.price_collar'],
    ['SPY stop_limit 170, limit 153 (exactly −10 % of the stop)', stopLimit('170', '153'), context(), 'approved'],
    ['SPY stop_limit 170, limit 152.99', stopLimit('170', '152.99'), context(), 'risk.price_collar'],
    [
      'SPY stop_limit 170, limit 184.16 (far from the mid, near the stop)',
      stopLimit('170', '184.16'),
      context(),
      'approved',
    ],
    ['SPY stop_limit, protective stop 184.16, limit 190', stopLimit('184.16', '190'), context(), 'approved'],
    ['SPY stop_limit, stop 150.66 below the market', stopLimit('150.66', '150.66'), context(), 'risk.price_collar'],
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
      reason:
        'stop price 150.66 is 10.01 % from the reference price 167.41 (mid); the collar is ±10 % ' +
        '(a buy stop at or below the market triggers at once, so it is held to the collar)',
    });
    expect(priceCollarCheck(stopLimit('170', '187.01'), context(), limits)).toEqual({
      kind: 'denied',
      code: 'risk.price_collar',
      reason: 'limit price 187.01 is 10.01 % from its stop price 170; the collar is ±10 %',
    });
  });
});

describe('priceCollarCheck: stopCollarPercent (20 %)', () => {
  const stops: RiskLimits = { ...limits, stopCollarPercent: d('20') };
  // 167.41 ± 20 % = [133.928, 200.892]
  it.each([
    ['buy stop 200.89 (protective, +19.9994 %)', stop('200.89'), 'approved'],
    ['buy stop 200.892 (exactly +20 %)', stop('200.892'), 'approved'],
    ['buy stop 200.90 (+20.0048 %)', stop('200.90'), 'risk.price_collar'],
    ['sell stop 133.93 (protective)', stop('133.93', 'sell'), 'approved'],
    ['sell stop 133.928 (exactly −20 %)', stop('133.928', 'sell'), 'approved'],
    ['sell stop 133.92', stop('133.92', 'sell'), 'risk.price_collar'],
    // the other side keeps the regular ±10 %
    ['buy stop 150.67 (triggers at once)', stop('150.67'), 'approved'],
    ['buy stop 150.66 (triggers at once)', stop('150.66'), 'risk.price_collar'],
    ['sell stop 184.16 (triggers at once)', stop('184.16', 'sell'), 'risk.price_collar'],
  ] as const)('%s → %s', (_name, order, expected) => {
    expect(outcome(priceCollarCheck(order, context(), stops))).toBe(expected);
  });

  it('says why', () => {
    expect(priceCollarCheck(stop('200.90'), context(), stops)).toEqual({
      kind: 'denied',
      code: 'risk.price_collar',
      reason:
        'stop price 200.9 is 20 % from the reference price 167.41 (mid); a buy stop may rest at most ±20 % away ' +
        '(the stop collar)',
    });
  });
});

describe('priceCollarCheck: priceCollarAbsolute (percent or absolute, whichever is wider)', () => {
  // A cheap SPXW put: bid 0.15, ask 0.25, mid 0.20. ±10 % is 0.02, less than the 0.05 tick.
  const cheap = spxwContext({ quote: spxwQuote({ bid: d('0.15'), ask: d('0.25'), last: d('0.20') }) });
  const buy = (limit: string) => spxwIntent({ limitPrice: d(limit) });
  const withFloor: RiskLimits = { ...limits, priceCollarAbsolute: d('0.10') };
  it.each([
    ['±10 % only: 0.22 (exactly +10 %)', buy('0.22'), limits, 'approved'],
    ['±10 % only: 0.25, the ask', buy('0.25'), limits, 'risk.price_collar'],
    ['±0.10 floor: 0.30 (exactly +0.10)', buy('0.30'), withFloor, 'approved'],
    ['±0.10 floor: 0.31', buy('0.31'), withFloor, 'risk.price_collar'],
    ['±0.10 floor: 0.10 (exactly −0.10)', buy('0.10'), withFloor, 'approved'],
    ['±0.10 floor: 0.09', buy('0.09'), withFloor, 'risk.price_collar'],
  ] as const)('%s → %s', (_name, order, lim, expected) => {
    expect(outcome(priceCollarCheck(order, cheap, lim))).toBe(expected);
  });

  it('lets the percent win where it is wider: SPY ±10 % = ±16.741 beats a 0.10 floor', () => {
    expect(outcome(priceCollarCheck(buyAt('184.151'), context(), withFloor))).toBe('approved');
    expect(outcome(priceCollarCheck(buyAt('184.16'), context(), withFloor))).toBe('risk.price_collar');
  });

  it('says which collar', () => {
    expect(priceCollarCheck(buy('0.31'), cheap, withFloor)).toEqual({
      kind: 'denied',
      code: 'risk.price_collar',
      reason:
        'limit price 0.31 is 55 % from the reference price 0.2 (mid); the collar is ±10 % or ±0.1 USD, whichever is wider',
    });
  });
});

describe('priceCollarCheck: productCollars', () => {
  const perProduct: RiskLimits = {
    ...limits,
    priceCollarAbsolute: d('0.10'),
    productCollars: {
      'root:SPXW': { percent: d('20'), absolute: d('0.50') },
      QQQ: { percent: d('2'), absolute: d('0') },
    },
  };
  // SPXW mid 4.90: ±20 % = ±0.98, wider than 0.50: [3.92, 5.88]
  it.each([
    ['SPXW buy 5.88 (exactly +20 %)', spxwIntent({ limitPrice: d('5.88') }), spxwContext(), 'approved'],
    ['SPXW buy 5.89', spxwIntent({ limitPrice: d('5.89') }), spxwContext(), 'risk.price_collar'],
    ['SPXW buy 3.92 (exactly −20 %)', spxwIntent({ limitPrice: d('3.92') }), spxwContext(), 'approved'],
    ['SPXW buy 3.91', spxwIntent({ limitPrice: d('3.91') }), spxwContext(), 'risk.price_collar'],
    // SPY has no entry: the account's ±10 % (or 0.10)
    ['SPY buy 184.15', buyAt('184.15'), context(), 'approved'],
    ['SPY buy 184.16', buyAt('184.16'), context(), 'risk.price_collar'],
    // QQQ at 300.00: ±2 % = [294, 306]; its own absolute 0 replaces the account's 0.10
    ['QQQ buy 306', intent({ symbol: 'QQQ', limitPrice: d('306') }), qqqContext, 'approved'],
    ['QQQ buy 306.01', intent({ symbol: 'QQQ', limitPrice: d('306.01') }), qqqContext, 'risk.price_collar'],
    // root:SPXW is not SPX: an SPX option keeps the account's collar
    ['SPX buy 5.39 (+10 %)', spxIntent('5.39'), spxContext, 'approved'],
    ['SPX buy 5.40', spxIntent('5.40'), spxContext, 'risk.price_collar'],
  ] as const)('%s → %s', (_name, order, ctx, expected) => {
    expect(outcome(priceCollarCheck(order, ctx, perProduct))).toBe(expected);
  });

  it('names the product whose collar applied', () => {
    const denied = priceCollarCheck(spxwIntent({ limitPrice: d('5.89') }), spxwContext(), perProduct);
    expect(denied.kind === 'denied' && denied.reason).toBe(
      'limit price 5.89 is 20.2 % from the reference price 4.9 (mid); the collar is ±20 % or ±0.5 USD, ' +
        'whichever is wider (the collar of root:SPXW)',
    );
  });
});
