import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { parseRateRules } from './rate-rules.js';

describe('parseRateRules', () => {
  it.each([
    ['100/1s', [{ points: 100, seconds: 1 }]],
    ['100/s', [{ points: 100, seconds: 1 }]],
    ['10/2s', [{ points: 10, seconds: 2 }]],
    [
      '1000/1s, 50000/1m',
      [
        { points: 1000, seconds: 1 },
        { points: 50000, seconds: 60 },
      ],
    ],
    ['5/1h', [{ points: 5, seconds: 3600 }]],
    ['off', []],
  ])('%s', (text, rules) => {
    expect(parseRateRules(text)).toEqual(rules);
  });

  it.each(['10', '10/500ms', '10/0s', '0/1s', '-1/1s', '10/1d', 'ten/1s', '10/1s;5/1m'])('refuses %s', (text) => {
    expect(parseRateRules(text)).toEqual(expect.any(String));
  });

  it('gives generous defaults, and a bad variable fails the configuration with its name', () => {
    expect(loadConfig({}).rateLimit).toEqual({
      requests: [
        { points: 1000, seconds: 1 },
        { points: 50000, seconds: 60 },
      ],
      orders: [
        { points: 500, seconds: 1 },
        { points: 25000, seconds: 60 },
      ],
      unauthenticated: [
        { points: 50, seconds: 1 },
        { points: 600, seconds: 60 },
      ],
      wsMaxSubscriptions: 200,
      wsMaxConnectionsPerPrincipal: 20,
    });
    expect(loadConfig({ RATE_LIMIT_ORDERS: 'off' }).rateLimit.orders).toEqual([]);
    expect(() => loadConfig({ RATE_LIMIT_REQUESTS: '10 per second' })).toThrow(/RATE_LIMIT_REQUESTS/);
  });
});
