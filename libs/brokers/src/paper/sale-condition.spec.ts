import { describe, expect, it } from 'vitest';
import { isLastSaleEligible } from './sale-condition.js';

describe('isLastSaleEligible', () => {
  it.each([
    ['1', true], // regular
    ['20000020', true], // intermarket sweep, trade-through exempt
    ['20000040', true], // opening print
    ['2000', true], // extended hours flag
    ['80000000', true], // odd lot (bit 31: beyond JS's signed 32-bit operators)
    ['4000000', false], // official open
    ['20100000', false], // average price
    ['20000200', false], // derivatively priced
    ['', true],
  ])('%s → %s', (condition, eligible) => {
    expect(isLastSaleEligible(condition)).toBe(eligible);
  });
});
