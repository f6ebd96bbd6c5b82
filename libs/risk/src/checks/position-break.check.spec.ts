import { describe, expect, it } from 'vitest';
import type { RiskContext } from '../risk-context.js';
import { context, d, intent, limits, working } from '../testing/risk-fixtures.js';
import { outcome } from '../testing/outcome.js';
import { RiskEngine } from '../risk-engine.js';
import { positionBreakCheck } from './position-break.check.js';

const broken = (ours: string, broker: string, extra: Partial<RiskContext> = {}): RiskContext =>
  context({
    positionQuantity: d(ours),
    positionBreak: { id: 'b-1', ours: d(ours), broker: d(broker) },
    ...extra,
  });
const buy = (quantity: string) => intent({ quantity: d(quantity) });
const sell = (quantity: string) => intent({ side: 'sell', quantity: d(quantity) });

describe('positionBreakCheck', () => {
  it.each([
    ['no break: a buy', buy('100'), context(), 'approved'],
    ['a break set to null: a buy', buy('100'), context({ positionBreak: null }), 'approved'],
    ['ours 10, broker 13: a buy is an entry', buy('1'), broken('10', '13'), 'risk.position_break'],
    ['ours 10, broker 13: sell 10 reduces both', sell('10'), broken('10', '13'), 'approved'],
    ['ours 10, broker 6: sell 6 reduces both', sell('6'), broken('10', '6'), 'approved'],
    ['ours 10, broker 6: sell 7 would flip the broker', sell('7'), broken('10', '6'), 'risk.position_break'],
    ['short 5 here and there -8: buy 5 covers both', buy('5'), broken('-5', '-8'), 'approved'],
    ['short 5, broker -8: sell is an entry', sell('1'), broken('-5', '-8'), 'risk.position_break'],
    ['ours 0, broker 5: nothing to reduce', sell('1'), broken('0', '5'), 'risk.position_break'],
    ['long here, short there: nothing is safe', sell('1'), broken('5', '-5'), 'risk.position_break'],
    [
      'ours 10, broker 13, a working sell 8: sell 2 fits what the smaller position leaves',
      sell('2'),
      broken('10', '13', { workingOrders: [working({ side: 'sell', leavesQuantity: d('8') })] }),
      'approved',
    ],
    [
      'ours 10, broker 13, a working sell 8: sell 3 could flip ours',
      sell('3'),
      broken('10', '13', { workingOrders: [working({ side: 'sell', leavesQuantity: d('8') })] }),
      'risk.position_break',
    ],
  ])('%s', (_name, order, ctx, want) => {
    expect(outcome(positionBreakCheck(order, ctx))).toBe(want);
  });

  it('says both quantities, the break and what closes it', () => {
    const decision = positionBreakCheck(buy('1'), broken('10', '13'));
    expect(decision).toMatchObject({ kind: 'denied', code: 'risk.position_break' });
    const reason = decision.kind === 'denied' ? decision.reason : '';
    expect(reason).toContain('position break b-1 in SPY');
    expect(reason).toContain('we hold 10, the broker reports 13');
    expect(reason).toContain('acknowledgement');
  });

  it('runs right after the trading state in the engine', () => {
    const engine = new RiskEngine();
    expect(outcome(engine.check(buy('1'), broken('10', '13'), limits))).toBe('risk.position_break');
    expect(outcome(engine.check(buy('1'), broken('10', '13', { tradingState: 'halted' }), limits))).toBe(
      'risk.trading_halted',
    );
  });
});
