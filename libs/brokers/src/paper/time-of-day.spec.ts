import { describe, expect, it } from 'vitest';
import { formatTimeOfDay, parseTimeOfDay } from './time-of-day.js';

describe('time of day', () => {
  it('parses HH:MM:SS[.mmm] and formats it back', () => {
    expect(parseTimeOfDay('09:30:00')).toBe(34_200_000);
    expect(parseTimeOfDay('09:30:05.5')).toBe(34_205_500);
    expect(parseTimeOfDay('15:59:59.999')).toBe(57_599_999);
    expect(parseTimeOfDay(34_200_000)).toBe(34_200_000);
    expect(formatTimeOfDay(34_205_030)).toBe('09:30:05.030');
  });

  it('refuses malformed or out-of-range times', () => {
    for (const bad of ['9:30:00', '24:00:00', '09:60:00', '09:30', 'noon']) {
      expect(() => parseTimeOfDay(bad)).toThrow(RangeError);
    }
    expect(() => parseTimeOfDay(86_400_000)).toThrow(RangeError);
    expect(() => parseTimeOfDay(1.5)).toThrow(RangeError);
  });
});
