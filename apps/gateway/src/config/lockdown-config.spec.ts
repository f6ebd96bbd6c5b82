import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { lockdownThresholdMs } from './lockdown-config.js';

describe('LOCKDOWN_* configuration', () => {
  it('defaults to 20 ms over 10 s, 20 round trips at least, 30 s under it before an automatic lift', () => {
    const lockdown = loadConfig({}).lockdown;
    expect(lockdown).toEqual({
      rttMs: 20,
      rttMsByVenue: {},
      windowMs: 10_000,
      minSamples: 20,
      holdOffMs: 30_000,
      lift: 'auto',
    });
    expect(lockdownThresholdMs(lockdown, 'paper')).toBe(20);
  });

  it('takes a threshold per venue, and off for every venue or one', () => {
    const lockdown = loadConfig({
      LOCKDOWN_RTT_MS: 'off',
      LOCKDOWN_RTT_MS_ALPACA: '35.5',
      LOCKDOWN_RTT_MS_PAPER: 'off',
      LOCKDOWN_LIFT: 'manual',
    }).lockdown;
    expect(lockdownThresholdMs(lockdown, 'alpaca')).toBe(35.5);
    expect(lockdownThresholdMs(lockdown, 'paper')).toBeNull();
    expect(lockdownThresholdMs(lockdown, 'schwab')).toBeNull();
    expect(lockdown.lift).toBe('manual');
  });

  it('refuses what does not parse, naming the variable', () => {
    expect(() => loadConfig({ LOCKDOWN_RTT_MS: '0' })).toThrow(/LOCKDOWN_RTT_MS/);
    expect(() => loadConfig({ LOCKDOWN_RTT_MS_PAPER: 'fast' })).toThrow(/LOCKDOWN_RTT_MS_PAPER/);
    expect(() => loadConfig({ LOCKDOWN_LIFT: 'never' })).toThrow(/LOCKDOWN_LIFT/);
    expect(() => loadConfig({ LOCKDOWN_WINDOW_MS: '10' })).toThrow(/LOCKDOWN_WINDOW_MS/);
  });
});
