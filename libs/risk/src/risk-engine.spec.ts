import fc from 'fast-check';
import { ORDER_TYPES, type OrderSide } from '@gateway/oms';
import { describe, expect, it } from 'vitest';
import { maxNotionalCheck } from './checks/max-notional.check.js';
import { maxQuantityCheck } from './checks/max-quantity.check.js';
import { marketDataCheck } from './checks/market-data.check.js';
import { priceCollarCheck } from './checks/price-collar.check.js';
import { tradingStateCheck } from './checks/trading-state.check.js';
import type { OrderIntent } from './order-intent.js';
import type { RiskCheck } from './risk-check.js';
import { APPROVED, deny } from './risk-decision.js';
import { DEFAULT_RISK_CHECKS, RiskEngine } from './risk-engine.js';
import { DEFAULT_RISK_LIMITS } from './risk-limits.js';
import { context, d, intent, limits, spxwContext, spxwIntent } from './testing/risk-fixtures.js';
import { outcome } from './testing/outcome.js';

const engine = new RiskEngine();
const STALE = 120_001;
// Breaks every size and price limit at once: 10001 × 184.16 = 1841784.16 USD, limit 10 % above the mid.
const oversized = intent({ quantity: d('10001'), limitPrice: d('184.16') });

describe('RiskEngine', () => {
  it('runs trading state, market data, max quantity, max notional, price collar, in that order', () => {
    expect(DEFAULT_RISK_CHECKS).toEqual([
      tradingStateCheck,
      marketDataCheck,
      maxQuantityCheck,
      maxNotionalCheck,
      priceCollarCheck,
    ]);
  });

  it('ships the documented paper defaults', () => {
    expect({
      maxOrderQuantity: DEFAULT_RISK_LIMITS.maxOrderQuantity.toFixed(),
      maxOrderNotional: DEFAULT_RISK_LIMITS.maxOrderNotional.toFixed(),
      priceCollarPercent: DEFAULT_RISK_LIMITS.priceCollarPercent.toFixed(),
      maxQuoteAgeMs: DEFAULT_RISK_LIMITS.maxQuoteAgeMs,
    }).toEqual({
      maxOrderQuantity: '10000',
      maxOrderNotional: '1000000',
      priceCollarPercent: '10',
      maxQuoteAgeMs: 120_000,
    });
    expect(Object.isFrozen(DEFAULT_RISK_LIMITS)).toBe(true);
  });

  it.each([
    ['an ordinary SPY limit buy', intent(), context(), 'approved'],
    ['an ordinary SPXW market buy', spxwIntent({ type: 'market', limitPrice: null }), spxwContext(), 'approved'],
    [
      'halted beats stale data and every limit',
      oversized,
      context({ tradingState: 'halted', quoteAgeMs: STALE }),
      'risk.trading_halted',
    ],
    [
      'halted beats entries blocked',
      intent(),
      context({ tradingState: 'halted', entriesBlockedReason: 'restart' }),
      'risk.trading_halted',
    ],
    [
      'reducing beats stale data and every limit',
      oversized,
      context({ tradingState: 'reducing', quoteAgeMs: STALE }),
      'risk.entries_blocked',
    ],
    [
      'entries blocked beats missing data',
      oversized,
      context({ entriesBlockedReason: 'broker reconnect', quote: undefined, quoteAgeMs: null }),
      'risk.entries_blocked',
    ],
    ['stale data beats every limit', oversized, context({ quoteAgeMs: STALE }), 'risk.stale_market_data'],
    ['max quantity beats notional and collar', oversized, context(), 'risk.max_quantity'],
    [
      'max notional beats the collar',
      intent({ quantity: d('6000'), limitPrice: d('184.16') }),
      context(),
      'risk.max_notional',
    ],
    ['the collar alone', intent({ limitPrice: d('184.16') }), context(), 'risk.price_collar'],
    // exits stay possible as limit orders, even against data too old to collar them
    [
      'reducing, stale data: sell the whole long at a limit far below the stale mid',
      intent({ side: 'sell', limitPrice: d('120.00') }),
      context({ tradingState: 'reducing', quoteAgeMs: STALE, positionQuantity: d('100') }),
      'approved',
    ],
    [
      'entries blocked, no quote: buy 5 SPXW to close a short 5',
      spxwIntent({ quantity: d('5'), positionEffect: 'close' }),
      spxwContext({
        entriesBlockedReason: 'unknown order',
        quote: undefined,
        quoteAgeMs: null,
        positionQuantity: d('-5'),
      }),
      'approved',
    ],
    [
      'an exit is still sized: 10001 to close a long 20000 with stale data',
      intent({ side: 'sell', quantity: d('10001') }),
      context({ quoteAgeMs: STALE, positionQuantity: d('20000') }),
      'risk.max_quantity',
    ],
    [
      'an exit is still valued: sell 9000 @ 167.41 with fresh data',
      intent({ side: 'sell', quantity: d('9000') }),
      context({ positionQuantity: d('9000') }),
      'risk.max_notional',
    ],
    [
      'reducing, fresh data: an exit is collared',
      intent({ side: 'sell', limitPrice: d('120.00') }),
      context({ tradingState: 'reducing', positionQuantity: d('100') }),
      'risk.price_collar',
    ],
    [
      'stale data: a market exit is refused',
      intent({ side: 'sell', type: 'market', limitPrice: null }),
      context({ quoteAgeMs: STALE, positionQuantity: d('100') }),
      'risk.stale_market_data',
    ],
  ] as const)('%s → %s', (_name, order, ctx, expected) => {
    expect(outcome(engine.check(order, ctx, limits))).toBe(expected);
  });

  it('returns the first denial and runs nothing after it', () => {
    const calls: string[] = [];
    const approve =
      (name: string): RiskCheck =>
      () => {
        calls.push(name);
        return APPROVED;
      };
    const refuse =
      (name: string): RiskCheck =>
      () => {
        calls.push(name);
        return deny('risk.max_quantity', name);
      };
    const custom = new RiskEngine([approve('a'), refuse('b'), refuse('c'), approve('d')]);
    expect(custom.check(intent(), context(), limits)).toEqual({
      kind: 'denied',
      code: 'risk.max_quantity',
      reason: 'b',
    });
    expect(calls).toEqual(['a', 'b']);
  });

  it('passes the intent, context and limits through to every check', () => {
    const seen: unknown[][] = [];
    const spy: RiskCheck = (...args) => {
      seen.push(args);
      return APPROVED;
    };
    const [i, c] = [intent(), context()];
    expect(new RiskEngine([spy, spy]).check(i, c, limits)).toEqual({ kind: 'approved' });
    expect(seen).toEqual([
      [i, c, limits],
      [i, c, limits],
    ]);
  });

  it('denies every order of a halted account, whatever it is (property)', () => {
    const anyIntent = fc
      .record({
        side: fc.constantFrom<OrderSide>('buy', 'sell'),
        type: fc.constantFrom(...ORDER_TYPES),
        quantity: fc.integer({ min: 1, max: 100_000 }),
        cents: fc.integer({ min: 1, max: 100_000 }),
        position: fc.integer({ min: -100_000, max: 100_000 }),
        effect: fc.constantFrom<OrderIntent['positionEffect']>('open', 'close', null),
      })
      .map(({ side, type, quantity, cents, position, effect }) => ({
        order: intent({
          side,
          type,
          quantity: d(String(quantity)),
          limitPrice: type === 'limit' || type === 'stop_limit' ? d(String(cents)).dividedBy(100) : null,
          stopPrice: type === 'stop' || type === 'stop_limit' ? d(String(cents)).dividedBy(100) : null,
          positionEffect: effect,
        }),
        position: d(String(position)),
      }));
    fc.assert(
      fc.property(anyIntent, ({ order, position }) => {
        expect(
          outcome(engine.check(order, context({ tradingState: 'halted', positionQuantity: position }), limits)),
        ).toBe('risk.trading_halted');
      }),
    );
  });
});
