import { describe, expect, it } from 'vitest';
import type { OrderIntent } from '../order-intent.js';
import type { PositionExposure, RiskContext, WorkingExposure, WorkingOrderExposure } from '../risk-context.js';
import type { RiskLimits } from '../risk-limits.js';
import { context, d, intent, limits, position, SPXW_CALL, working } from '../testing/risk-fixtures.js';
import { outcome } from '../testing/outcome.js';
import { grossExposure, maxGrossExposureCheck } from './max-gross-exposure.check.js';

// The book: QQQ long 500 marked 300 = 150000; SPXW call short 100 marked 4.90 × 100 = 49000 (absolute);
// IWM working buy 200 limit 150 = 30000. 229000 USD before the order; SPY buy 100 @ 167.41 adds 16741.
const QQQ = position({ symbol: 'QQQ', quantity: d('500'), markPrice: d('300') });
const SPXW_SHORT = position({ symbol: SPXW_CALL, quantity: d('-100'), markPrice: d('4.90'), multiplier: d('100') });
const IWM_BUY = working({ symbol: 'IWM', leavesQuantity: d('200'), limitPrice: d('150') });
const BOOK = [QQQ, SPXW_SHORT];
const max: RiskLimits = { ...limits, maxGrossExposure: d('245741') };

const book = (
  extra: { positions?: PositionExposure[]; workingOrders?: WorkingExposure[] } & Partial<RiskContext> = {},
): RiskContext => context({ positions: BOOK, workingOrders: [IWM_BUY], ...extra });
const spy = (extra: Partial<OrderIntent> = {}) => intent(extra);
const market = { type: 'market', limitPrice: null } as const;
const iwm = (extra: Partial<WorkingOrderExposure>) => working({ symbol: 'IWM', leavesQuantity: d('200'), ...extra });
const iwmMark = (mark: string) => position({ symbol: 'IWM', quantity: d('0'), markPrice: d(mark) });

describe('maxGrossExposureCheck (maxGrossExposure 245741 USD)', () => {
  it.each([
    ['SPY buy 100 @ 167.41: 245741, at the maximum', spy(), book(), 'approved'],
    ['SPY buy 100 @ 167.4101: 245741.01', spy({ limitPrice: d('167.4101') }), book(), 'risk.max_gross_exposure'],
    ['SPY buy 101 @ 167.41', spy({ quantity: d('101') }), book(), 'risk.max_gross_exposure'],
    // the order at the quote: the ask for a buy, the bid for a sell
    ['SPY market buy 100 @ ask 167.42', spy(market), book(), 'risk.max_gross_exposure'],
    [
      'SPY market sell 100 @ bid 167.40 (opens a short: an entry)',
      spy({ ...market, side: 'sell' }),
      book(),
      'approved',
    ],
    // no quote: the mark, else fail closed
    [
      'SPY market buy 100, no quote, SPY marked 167.41',
      spy(market),
      book({ quote: undefined, quoteAgeMs: null, positions: [...BOOK, position({ quantity: d('0') })] }),
      'approved',
    ],
    [
      'SPY market buy 100, no quote, no mark',
      spy(market),
      book({ quote: undefined, quoteAgeMs: null }),
      'risk.max_gross_exposure',
    ],
    // working orders: the limit, the stop against the mark, the mark
    [
      'IWM working buy stop 150, no mark: the stop',
      spy(),
      book({ workingOrders: [iwm({ type: 'stop', limitPrice: null, stopPrice: d('150') })] }),
      'approved',
    ],
    [
      'IWM working buy stop 150.01, no mark',
      spy(),
      book({ workingOrders: [iwm({ type: 'stop', limitPrice: null, stopPrice: d('150.01') })] }),
      'risk.max_gross_exposure',
    ],
    [
      'IWM working sell stop 140, marked 150: the mark',
      spy(),
      book({
        positions: [...BOOK, iwmMark('150')],
        workingOrders: [iwm({ side: 'sell', type: 'stop', limitPrice: null, stopPrice: d('140') })],
      }),
      'approved',
    ],
    [
      'IWM working sell stop 140, marked 150.01',
      spy(),
      book({
        positions: [...BOOK, iwmMark('150.01')],
        workingOrders: [iwm({ side: 'sell', type: 'stop', limitPrice: null, stopPrice: d('140') })],
      }),
      'risk.max_gross_exposure',
    ],
    [
      'IWM working market buy, marked 150',
      spy(),
      book({ positions: [...BOOK, iwmMark('150')], workingOrders: [iwm({ type: 'market', limitPrice: null })] }),
      'approved',
    ],
    [
      'IWM working market buy, no mark: cannot be valued',
      spy(),
      book({ workingOrders: [iwm({ type: 'market', limitPrice: null })] }),
      'risk.max_gross_exposure',
    ],
    [
      'IWM working market buy with nothing left: ignored',
      spy(),
      book({ workingOrders: [IWM_BUY, iwm({ type: 'market', limitPrice: null, leavesQuantity: d('0') })] }),
      'approved',
    ],
    [
      'a working sell counts like a buy: IWM sell 200 @ 150 instead',
      spy(),
      book({ workingOrders: [iwm({ side: 'sell', limitPrice: d('150') })] }),
      'approved',
    ],
    // positions: absolute, and a mark is needed
    [
      'QQQ without a mark: cannot be valued',
      spy(),
      book({ positions: [{ ...QQQ, markPrice: null }, SPXW_SHORT] }),
      'risk.max_gross_exposure',
    ],
    [
      'QQQ flat without a mark: nothing to value',
      spy(),
      book({ positions: [{ ...QQQ, quantity: d('0'), markPrice: null }, SPXW_SHORT] }),
      'approved',
    ],
    [
      'the SPXW short as a long: the same exposure',
      spy(),
      book({ positions: [QQQ, { ...SPXW_SHORT, quantity: d('100') }] }),
      'approved',
    ],
    [
      'the SPXW short marked 4.9001: 49000.01',
      spy(),
      book({ positions: [QQQ, { ...SPXW_SHORT, markPrice: d('4.9001') }] }),
      'risk.max_gross_exposure',
    ],
    // exits pass without valuation; an order that could flip is an entry
    [
      'QQQ long 500, sell 500 (an exit)',
      intent({ symbol: 'QQQ', side: 'sell', quantity: d('500'), limitPrice: d('300') }),
      book({ positionQuantity: d('500') }),
      'approved',
    ],
    [
      'QQQ long 500 unmarked, sell 500 (an exit, nothing to value)',
      intent({ symbol: 'QQQ', side: 'sell', quantity: d('500'), limitPrice: d('300') }),
      book({ positionQuantity: d('500'), positions: [{ ...QQQ, markPrice: null }] }),
      'approved',
    ],
    [
      'QQQ long 500, sell 501 (flips)',
      intent({ symbol: 'QQQ', side: 'sell', quantity: d('501'), limitPrice: d('300') }),
      book({ positionQuantity: d('500') }),
      'risk.max_gross_exposure',
    ],
    [
      'QQQ long 500, working sell 1, sell 500 (could flip)',
      intent({ symbol: 'QQQ', side: 'sell', quantity: d('500'), limitPrice: d('300') }),
      book({
        positionQuantity: d('500'),
        workingOrders: [
          IWM_BUY,
          working({ symbol: 'QQQ', side: 'sell', leavesQuantity: d('1'), limitPrice: d('300') }),
        ],
      }),
      'risk.max_gross_exposure',
    ],
    // off without its context
    ['no positions in the context', spy({ quantity: d('100000') }), context({ workingOrders: [] }), 'approved'],
    ['no working orders in the context', spy({ quantity: d('100000') }), context({ positions: [] }), 'approved'],
  ] as const)('%s → %s', (_name, order, ctx, expected) => {
    expect(outcome(maxGrossExposureCheck(order, ctx, max))).toBe(expected);
  });

  it('is off without the limit; a limit of 0 allows only exits', () => {
    expect(outcome(maxGrossExposureCheck(spy({ quantity: d('100000') }), book(), limits))).toBe('approved');
    const zero = { ...limits, maxGrossExposure: d('0') };
    expect(
      outcome(maxGrossExposureCheck(spy({ quantity: d('1') }), context({ positions: [], workingOrders: [] }), zero)),
    ).toBe('risk.max_gross_exposure');
    const exit = intent({ symbol: 'QQQ', side: 'sell', quantity: d('500'), limitPrice: d('300') });
    expect(outcome(maxGrossExposureCheck(exit, book({ positionQuantity: d('500') }), zero))).toBe('approved');
  });

  it('values the intent’s own symbol at the order’s price when it has no mark', () => {
    const valued = (ctx: RiskContext) => {
      const exposure = grossExposure(spy(), ctx.quote, ctx.positions ?? [], ctx.workingOrders ?? []);
      return exposure.kind === 'valued'
        ? [exposure.positions, exposure.workingOrders, exposure.order, exposure.total].map((x) => x.toFixed())
        : exposure.reason;
    };
    expect(valued(book())).toEqual(['199000', '30000', '16741', '245741']);
    // SPY long 100 unmarked: at 167.41, the order's limit; a working SPY market sell 50: the same
    expect(
      valued(
        book({
          positions: [...BOOK, position({ markPrice: null })],
          workingOrders: [
            IWM_BUY,
            working({ side: 'sell', type: 'market', limitPrice: null, leavesQuantity: d('50') }),
          ],
        }),
      ),
    ).toEqual(['215741', '38370.5', '16741', '270852.5']);
    expect(valued(book({ positions: [{ ...QQQ, markPrice: null }] }))).toBe(
      'no mark price for the position of 500 in QQQ',
    );
    expect(valued(book({ workingOrders: [iwm({ type: 'market', limitPrice: null })] }))).toBe(
      'no price for a working market buy order in IWM: no mark price',
    );
  });

  it('says why, by part', () => {
    expect(maxGrossExposureCheck(spy(market), book(), max)).toEqual({
      kind: 'denied',
      code: 'risk.max_gross_exposure',
      reason:
        'gross exposure would be 245742 USD (positions 199000, working orders 30000, this order 16742), above the ' +
        'maximum of 245741 USD',
    });
    const unpriced = maxGrossExposureCheck(spy(market), book({ quote: undefined, quoteAgeMs: null }), max);
    expect(unpriced.kind === 'denied' && unpriced.reason).toBe(
      "the account's gross exposure cannot be valued (no price for this market order in SPY: no usable quote and " +
        'no mark), so only exits are accepted',
    );
  });
});
