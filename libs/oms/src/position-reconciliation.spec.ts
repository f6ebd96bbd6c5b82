import { describe, expect, it } from 'vitest';
import { Decimal } from './decimal.js';
import { comparePositions, confirmedDifferences, explainDifference } from './position-reconciliation.js';

const p = (symbol: string, quantity: string) => ({ symbol, quantity: new Decimal(quantity) });
const shown = (ds: { symbol: string; ours: Decimal; broker: Decimal }[]) =>
  ds.map((d) => ({ symbol: d.symbol, ours: d.ours.toString(), broker: d.broker.toString() }));

describe('comparePositions', () => {
  it.each([
    { name: 'equal positions: no difference', ours: [p('SPY', '10')], broker: [p('SPY', '10')], want: [] },
    { name: 'both flat', ours: [], broker: [], want: [] },
    {
      name: 'a flat position we keep for its P&L equals a symbol the broker no longer lists',
      ours: [p('SPY', '0')],
      broker: [],
      want: [],
    },
    {
      name: 'a quantity that differs',
      ours: [p('SPY', '10')],
      broker: [p('SPY', '13')],
      want: [{ symbol: 'SPY', ours: '10', broker: '13' }],
    },
    {
      name: 'a position only the broker has',
      ours: [],
      broker: [p('QQQ', '-5')],
      want: [{ symbol: 'QQQ', ours: '0', broker: '-5' }],
    },
    {
      name: 'a position only we have',
      ours: [p('AAPL', '2')],
      broker: [],
      want: [{ symbol: 'AAPL', ours: '2', broker: '0' }],
    },
    {
      name: 'long here, short there (signs matter)',
      ours: [p('SPY', '5')],
      broker: [p('SPY', '-5')],
      want: [{ symbol: 'SPY', ours: '5', broker: '-5' }],
    },
    {
      name: 'fractional quantities compare exactly',
      ours: [p('SPY', '0.1')],
      broker: [p('SPY', '0.10000001')],
      want: [{ symbol: 'SPY', ours: '0.1', broker: '0.10000001' }],
    },
    {
      name: 'entries of one symbol are summed (several accounts on one venue)',
      ours: [p('SPY', '3'), p('SPY', '7')],
      broker: [p('SPY', '10')],
      want: [],
    },
    {
      name: 'several symbols, by symbol',
      ours: [p('SPY', '1'), p('AAPL', '1'), p('QQQ', '1')],
      broker: [p('SPY', '2'), p('AAPL', '1'), p('QQQ', '0')],
      want: [
        { symbol: 'QQQ', ours: '1', broker: '0' },
        { symbol: 'SPY', ours: '1', broker: '2' },
      ],
    },
  ])('$name', ({ ours, broker, want }) => {
    expect(shown(comparePositions(ours, broker))).toEqual(want);
  });
});

describe('confirmedDifferences', () => {
  const first = comparePositions([p('SPY', '10'), p('QQQ', '1')], [p('SPY', '13'), p('QQQ', '2')]);

  it('keeps a difference that holds still between two reads', () => {
    const again = comparePositions([p('SPY', '10'), p('QQQ', '1')], [p('SPY', '13'), p('QQQ', '2')]);
    expect(shown(confirmedDifferences(first, again))).toEqual(shown(again));
  });

  it('drops one that moved (a fill arrived between the reads) or went away', () => {
    const later = comparePositions([p('SPY', '10'), p('QQQ', '2')], [p('SPY', '14'), p('QQQ', '2')]);
    expect(confirmedDifferences(first, later)).toEqual([]);
  });
});

describe('explainDifference', () => {
  const difference = { symbol: 'SPY', ours: new Decimal(4), broker: new Decimal(10) };
  const e = (id: string, symbol: string, side: 'buy' | 'sell', quantity: string) => ({
    brokerExecutionId: id,
    symbol,
    side,
    quantity: new Decimal(quantity),
  });

  it('finds the executions in the symbol that account for the whole difference', () => {
    const found = explainDifference(difference, [e('a', 'SPY', 'buy', '6'), e('b', 'QQQ', 'buy', '1')]);
    expect(found.executions.map((x) => x.brokerExecutionId)).toEqual(['a']);
    expect(found.explainsAll).toBe(true);
  });

  it('says when they explain only part of it, or nothing is found', () => {
    expect(explainDifference(difference, [e('a', 'SPY', 'buy', '2'), e('c', 'SPY', 'sell', '1')]).explainsAll).toBe(
      false,
    );
    expect(explainDifference(difference, [])).toEqual({ executions: [], explainsAll: false });
  });
});
