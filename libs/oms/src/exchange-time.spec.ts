import { describe, expect, it } from 'vitest';
import { epochToZonedTimeOfDay, normaliseTradeDate, tradingDayOf, zonedTimeToEpochMs } from './exchange-time.js';

describe('zonedTimeToEpochMs', () => {
  it.each([
    ['2013-10-07', 34_200_000, '2013-10-07T13:30:00.000Z'], // EDT, UTC−4
    ['2021-01-04', 34_200_000, '2021-01-04T14:30:00.000Z'], // EST, UTC−5
    ['2021-01-04', 34_259_999, '2021-01-04T14:30:59.999Z'],
    ['2023-08-03', 57_600_000, '2023-08-03T20:00:00.000Z'],
    ['2021-03-14', 36_000_000, '2021-03-14T14:00:00.000Z'], // spring forward day, after the change: EDT
    ['2021-03-14', 5_400_000, '2021-03-14T06:30:00.000Z'], // 01:30, before the change: EST
    ['2021-11-07', 36_000_000, '2021-11-07T15:00:00.000Z'], // fall back day, after the change: EST
  ])('%s + %i ms ET is %s', (date, ms, iso) => {
    expect(zonedTimeToEpochMs(date, ms)).toBe(Date.parse(iso));
    expect(epochToZonedTimeOfDay(date, Date.parse(iso))).toBe(ms);
  });
});

describe('normaliseTradeDate', () => {
  it('accepts both spellings and refuses non-dates', () => {
    expect(normaliseTradeDate('20210104')).toBe('2021-01-04');
    expect(normaliseTradeDate('2021-01-04')).toBe('2021-01-04');
    expect(() => normaliseTradeDate('20210230')).toThrow(RangeError);
    expect(() => normaliseTradeDate('2021/01/04')).toThrow(RangeError);
  });
});

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
