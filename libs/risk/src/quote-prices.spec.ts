import { describe, expect, it } from 'vitest';
import { isTwoSided, marketablePrice, referencePrice } from './quote-prices.js';
import { d, quote } from './testing/risk-fixtures.js';

describe('referencePrice', () => {
  it.each([
    ['two-sided: the mid', quote(), { price: '167.41', source: 'mid' }],
    [
      'two-sided, odd cent spread: the exact mid',
      quote({ bid: d('167.40'), ask: d('167.43') }),
      { price: '167.415', source: 'mid' },
    ],
    ['locked: the mid', quote({ bid: d('167.41'), ask: d('167.41'), last: null }), { price: '167.41', source: 'mid' }],
    ['no bid: the last trade', quote({ bid: d('0'), last: d('167.38') }), { price: '167.38', source: 'last' }],
    ['no ask: the last trade', quote({ ask: d('0'), last: d('167.38') }), { price: '167.38', source: 'last' }],
    [
      'crossed: the last trade',
      quote({ bid: d('167.45'), ask: d('167.40'), last: d('167.42') }),
      { price: '167.42', source: 'last' },
    ],
    ['no bid, no last: nothing', quote({ bid: d('0'), last: null }), null],
    ['no bid, last 0: nothing', quote({ bid: d('0'), last: d('0') }), null],
  ] as const)('%s', (_name, q, expected) => {
    const reference = referencePrice(q);
    expect(reference === null ? null : { price: reference.price.toFixed(), source: reference.source }).toEqual(
      expected,
    );
  });

  it('isTwoSided needs both sides and no crossing', () => {
    expect(isTwoSided(quote())).toBe(true);
    expect(isTwoSided(quote({ bid: d('0') }))).toBe(false);
    expect(isTwoSided(quote({ bid: d('167.43') }))).toBe(false);
  });
});

describe('marketablePrice', () => {
  it('takes the ask for a buy and the bid for a sell; the reference price when that side is empty', () => {
    expect(marketablePrice('buy', quote())?.toFixed()).toBe('167.42');
    expect(marketablePrice('sell', quote())?.toFixed()).toBe('167.4');
    expect(marketablePrice('buy', quote({ ask: d('0'), last: d('167.38') }))?.toFixed()).toBe('167.38');
    expect(marketablePrice('sell', quote({ bid: d('0'), last: null }))).toBeNull();
  });
});
