import { describe, expect, it } from 'vitest';
import type { RiskLimits } from '../risk-limits.js';
import { context, d, intent, limits, messageCounts } from '../testing/risk-fixtures.js';
import { outcome } from '../testing/outcome.js';
import { messageRateCheck } from './message-rate.check.js';

// Under Schwab's 120 per minute per app.
const rate: RiskLimits = { ...limits, maxMessagesPerSecond: 5, maxMessagesPerMinute: 100 };

describe('messageRateCheck (5 per second, 100 per minute)', () => {
  it.each([
    ['none sent', context({ messageCounts: messageCounts(0, 0) }), rate, 'approved'],
    [
      '4 in the second, 99 in the minute: one more fits both',
      context({ messageCounts: messageCounts(4, 99) }),
      rate,
      'approved',
    ],
    ['5 in the second', context({ messageCounts: messageCounts(5, 5) }), rate, 'risk.message_rate'],
    ['100 in the minute', context({ messageCounts: messageCounts(0, 100) }), rate, 'risk.message_rate'],
    ['far over both', context({ messageCounts: messageCounts(50, 500) }), rate, 'risk.message_rate'],
    [
      'only a per-minute limit: 1000 in the second is fine',
      context({ messageCounts: messageCounts(1_000, 10) }),
      { ...limits, maxMessagesPerMinute: 100 },
      'approved',
    ],
    [
      'only a per-second limit: 1000 in the minute is fine',
      context({ messageCounts: messageCounts(0, 1_000) }),
      { ...limits, maxMessagesPerSecond: 5 },
      'approved',
    ],
    [
      'a per-second limit of 0: nothing',
      context({ messageCounts: messageCounts(0, 0) }),
      { ...limits, maxMessagesPerSecond: 0 },
      'risk.message_rate',
    ],
    ['no limits', context({ messageCounts: messageCounts(1_000, 1_000) }), limits, 'approved'],
    ['no counts in the context', context(), { ...limits, maxMessagesPerSecond: 0 }, 'approved'],
  ] as const)('%s → %s', (_name, ctx, lim, expected) => {
    expect(outcome(messageRateCheck(intent(), ctx, lim))).toBe(expected);
  });

  it('counts exits like any other message', () => {
    const exit = intent({ side: 'sell' });
    const ctx = context({ positionQuantity: d('100'), messageCounts: messageCounts(5, 5) });
    expect(outcome(messageRateCheck(exit, ctx, rate))).toBe('risk.message_rate');
  });

  it('says which limit', () => {
    expect(messageRateCheck(intent(), context({ messageCounts: messageCounts(5, 5) }), rate)).toEqual({
      kind: 'denied',
      code: 'risk.message_rate',
      reason:
        '5 messages (orders, replaces, cancels) were sent in the last second and the maximum is 5 per second: ' +
        'send it again later',
    });
    const minute = messageRateCheck(intent(), context({ messageCounts: messageCounts(0, 100) }), rate);
    expect(minute.kind === 'denied' && minute.reason).toContain('in the last minute and the maximum is 100 per minute');
  });
});
