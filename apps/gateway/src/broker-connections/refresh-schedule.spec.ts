import { describe, expect, it } from 'vitest';
import { refreshTime, retryTime } from './refresh-schedule.js';

const MIN = 60_000;
const now = Date.UTC(2026, 11, 3, 15, 0, 0);

describe('refreshTime', () => {
  it("refreshes Schwab's 30-minute token the configured lead before its expiry", () => {
    const s = { refreshBeforeExpirySeconds: 300, refreshJitterSeconds: 0 };
    expect(refreshTime(now + 30 * MIN, now, s)).toBe(now + 25 * MIN);
    // A lead that still fits in the lifetime is honoured to the second (1797 s of 1800 s: due 3 s after).
    expect(refreshTime(now + 30 * MIN, now, { ...s, refreshBeforeExpirySeconds: 1797 })).toBe(now + 3_000);
  });

  it('refreshes a token with less left than the lead halfway through what is left, never before now', () => {
    const s = { refreshBeforeExpirySeconds: 300, refreshJitterSeconds: 0 };
    expect(refreshTime(now + 6_000, now, s)).toBe(now + 3_000);
    expect(refreshTime(now + 30 * MIN, now, { ...s, refreshBeforeExpirySeconds: 1800 })).toBe(now + 15 * MIN);
    expect(refreshTime(now - 1_000, now, s)).toBe(now);
  });

  it('jitters earlier by at most the jitter and a quarter of what is left; no expiry, no refresh', () => {
    const s = { refreshBeforeExpirySeconds: 300, refreshJitterSeconds: 60 };
    for (let i = 0; i < 50; i++) {
      const at = refreshTime(now + 30 * MIN, now, s)!;
      expect(at).toBeGreaterThanOrEqual(now + 24 * MIN);
      expect(at).toBeLessThanOrEqual(now + 25 * MIN);
    }
    expect(refreshTime(null, now, s)).toBeNull();
  });
});

describe('retryTime', () => {
  it('doubles the retry delay per failure in a row, at most 32 times', () => {
    expect(retryTime(now, 1, 30)).toBe(now + 30_000);
    expect(retryTime(now, 3, 30)).toBe(now + 120_000);
    expect(retryTime(now, 20, 30)).toBe(now + 32 * 30_000);
  });
});
