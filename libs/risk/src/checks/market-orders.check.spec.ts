import { describe, expect, it } from 'vitest';
import type { OrderIntent } from '../order-intent.js';
import type { RiskLimits } from '../risk-limits.js';
import { context, d, intent, limits, spxwContext, spxwIntent } from '../testing/risk-fixtures.js';
import { outcome } from '../testing/outcome.js';
import { marketOrdersCheck } from './market-orders.check.js';

const noMarket: RiskLimits = { ...limits, allowMarketOrders: false };
const market = (extra: Partial<OrderIntent> = {}) => intent({ type: 'market', limitPrice: null, ...extra });
const stop = (extra: Partial<OrderIntent> = {}) =>
  intent({ type: 'stop', limitPrice: null, stopPrice: d('170'), ...extra });

describe('marketOrdersCheck (allowMarketOrders)', () => {
  it.each([
    ['allowed by default: market', market(), context(), limits, 'approved'],
    ['allowed by default: stop', stop(), context(), limits, 'approved'],
    ['explicitly allowed: market', market(), context(), { ...limits, allowMarketOrders: true }, 'approved'],
    ['not allowed: market buy', market(), context(), noMarket, 'risk.market_orders_not_allowed'],
    ['not allowed: market sell', market({ side: 'sell' }), context(), noMarket, 'risk.market_orders_not_allowed'],
    ['not allowed: stop', stop(), context(), noMarket, 'risk.market_orders_not_allowed'],
    ['not allowed: a limit passes', intent(), context(), noMarket, 'approved'],
    [
      'not allowed: a stop_limit passes',
      intent({ type: 'stop_limit', stopPrice: d('170'), limitPrice: d('171') }),
      context(),
      noMarket,
      'approved',
    ],
    // exits too: they go out as bounded marketable limits
    [
      'not allowed: a market exit of a long 100',
      market({ side: 'sell' }),
      context({ positionQuantity: d('100') }),
      noMarket,
      'risk.market_orders_not_allowed',
    ],
    [
      'not allowed: a market buy to close short SPXW',
      spxwIntent({ type: 'market', limitPrice: null, quantity: d('5'), positionEffect: 'close' }),
      spxwContext({ positionQuantity: d('-5') }),
      noMarket,
      'risk.market_orders_not_allowed',
    ],
  ] as const)('%s → %s', (_name, order, ctx, lim, expected) => {
    expect(outcome(marketOrdersCheck(order, ctx, lim))).toBe(expected);
  });

  it('tells the client what to send instead, with the collar edge when the quote is current', () => {
    // SPY mid 167.41 ± 10 % = [150.669, 184.151]
    expect(marketOrdersCheck(market(), context(), noMarket)).toEqual({
      kind: 'denied',
      code: 'risk.market_orders_not_allowed',
      reason:
        'market orders are not accepted for this account: send a marketable limit order bounded by the price ' +
        'collar instead (a buy limit of at most 184.151, ±10 % around the reference price 167.41)',
    });
    const sell = marketOrdersCheck(market({ side: 'sell' }), context(), noMarket);
    expect(sell.kind === 'denied' && sell.reason).toContain('(a sell limit of at least 150.669, ±10 %');
    const stopped = marketOrdersCheck(stop(), context({ quoteAgeMs: 120_001 }), noMarket);
    expect(stopped.kind === 'denied' && stopped.reason).toBe(
      'stop orders are not accepted for this account: send a stop_limit order whose limit price is within the ' +
        'price collar instead',
    );
  });
});
