import { describe, expect, it } from 'vitest';
import { mostRestrictive } from './trading-state.js';

describe('mostRestrictive', () => {
  it.each([
    ['active', 'active', 'active'],
    ['active', 'reducing', 'reducing'],
    ['reducing', 'active', 'reducing'],
    ['reducing', 'halted', 'halted'],
    ['halted', 'active', 'halted'],
  ] as const)('%s and %s → %s', (a, b, expected) => {
    expect(mostRestrictive(a, b)).toBe(expected);
  });
});
