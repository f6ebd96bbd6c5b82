import { describe, expect, it } from 'vitest';
import { tradingDayOf } from './trading-day.js';

describe('tradingDayOf', () => {
  it.each([
    ['2026-11-21T04:59:59.999Z', '2026-11-20'], // 23:59:59.999 EST
    ['2026-11-21T05:00:00.000Z', '2026-11-21'], // midnight EST
    ['2026-07-01T03:59:59.999Z', '2026-06-30'], // 23:59:59.999 EDT
    ['2026-07-01T04:00:00.000Z', '2026-07-01'], // midnight EDT
  ])('%s is %s in New York', (instant, day) => {
    expect(tradingDayOf(Date.parse(instant))).toBe(day);
  });
});
