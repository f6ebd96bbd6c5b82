import type { OrderIntent } from '../order-intent.js';
import type { RiskContext } from '../risk-context.js';
import { APPROVED, deny, type RiskDecision } from '../risk-decision.js';
import type { RiskLimits } from '../risk-limits.js';

/**
 * Message throttle (SEC Rule 15c3-5(c)(1)(ii): size limits "over a short period of time"; FIA
 * automated-trading risk controls: messaging limits). `context.messageCounts`
 * holds the messages already sent in the trailing second and minute: new orders, replaces and cancels,
 * as brokers count them. This order is one more message, so it is denied when a count + 1 would exceed
 * `limits.maxMessagesPerSecond` or `limits.maxMessagesPerMinute` (each optional). Set them under the
 * broker's own limit, which throttles and rejects beyond it: Schwab's is per app, set at registration,
 * counting place, replace and cancel per minute (schwab-py recommends 120). The gateway counts per
 * account (README, "Risk controls": the limits are per account), so with several accounts on one app set each account's
 * share of the app's limit. Exits included: the broker's limit binds them too; the trader's cancels are
 * not orders and never pass through here, but they count (the kill switch's own cancels do not: they
 * are the gateway's, and must not lock a halted account's exits out). Off without `messageCounts`.
 * Denial: `risk.message_rate`.
 */
export function messageRateCheck(_intent: OrderIntent, context: RiskContext, limits: RiskLimits): RiskDecision {
  const counts = context.messageCounts;
  if (counts === undefined) {
    return APPROVED;
  }
  const { maxMessagesPerSecond: perSecond, maxMessagesPerMinute: perMinute } = limits;
  if (perSecond !== undefined && counts.lastSecond + 1 > perSecond) {
    return deny('risk.message_rate', overLimit(counts.lastSecond, perSecond, 'second'));
  }
  if (perMinute !== undefined && counts.lastMinute + 1 > perMinute) {
    return deny('risk.message_rate', overLimit(counts.lastMinute, perMinute, 'minute'));
  }
  return APPROVED;
}

function overLimit(sent: number, max: number, unit: 'second' | 'minute'): string {
  return (
    `${sent} messages (orders, replaces, cancels) were sent in the last ${unit} and the maximum is ${max} per ${unit}: ` +
    `send it again later`
  );
}
