import { describe, expect, it } from 'vitest';
import { Decimal } from './decimal.js';
import type { OrderStatus } from './order-status.js';
import {
  type BrokerOrderCandidate,
  type BrokerOrderEvidence,
  matchBrokerOrder,
  reconcileOrder,
  type ReconciliationEvidence,
} from './reconciliation.js';

const fill = (id: string, at: number) => ({
  brokerExecutionId: id,
  quantity: new Decimal(1),
  price: new Decimal('167.45'),
  executedAt: at,
});
const broker = (status: BrokerOrderEvidence['status'], filled = '0'): BrokerOrderEvidence => ({
  brokerOrderId: 'B1',
  status,
  filledQuantity: new Decimal(filled),
});
const order = (status: OrderStatus, brokerOrderId: string | null = null, applied: string[] = []) => ({
  status,
  brokerOrderId,
  appliedExecutionIds: new Set(applied),
});
const evidence = (
  o: BrokerOrderEvidence | null,
  fills = [] as ReturnType<typeof fill>[],
  conclusive = true,
): ReconciliationEvidence => ({
  order: o,
  fills,
  lookupIsConclusive: conclusive,
});
const kinds = (actions: ReturnType<typeof reconcileOrder>) => actions.map((a) => a.kind);

describe('reconcileOrder', () => {
  it.each<[string, ReturnType<typeof order>, ReconciliationEvidence, string[]]>([
    ['pending_new the broker never received: not_submitted', order('pending_new'), evidence(null), ['reject']],
    ['unknown the broker never received: not_submitted', order('unknown'), evidence(null), ['reject']],
    [
      'unknown without a conclusive lookup stays unresolved',
      order('unknown'),
      evidence(null, [], false),
      ['unresolved'],
    ],
    [
      'pending_cancel the broker does not know is unresolved',
      order('pending_cancel', 'B1'),
      evidence(null),
      ['unresolved'],
    ],
    ['pending_new working at the broker is acknowledged', order('pending_new'), evidence(broker('new')), ['accept']],
    [
      'unknown filled at the broker: ack, then every fill',
      order('unknown'),
      evidence(broker('filled', '2'), [fill('e2', 2), fill('e1', 1)]),
      ['accept', 'fill', 'fill'],
    ],
    [
      'fills already applied are not applied again',
      order('pending_cancel', 'B1', ['e1']),
      evidence(broker('canceled', '2'), [fill('e1', 1), fill('e2', 2)]),
      ['fill', 'cancel'],
    ],
    [
      'a cancel the broker never acted on goes back to working',
      order('pending_cancel', 'B1'),
      evidence(broker('new')),
      ['cancel_not_applied'],
    ],
    ['pending_cancel confirmed canceled', order('pending_cancel', 'B1'), evidence(broker('canceled')), ['cancel']],
    ['unknown expired at the broker', order('unknown'), evidence(broker('expired')), ['accept', 'expire']],
    [
      'pending_replace replaced at the broker',
      order('pending_replace', 'B1'),
      evidence(broker('replaced')),
      ['replace'],
    ],
    ['pending_new rejected by the broker', order('pending_new'), evidence(broker('rejected')), ['reject']],
    [
      'a replace the broker never acted on goes back to working',
      order('pending_replace', 'B1'),
      evidence(broker('partially_filled', '1'), [fill('e1', 1)]),
      ['fill', 'replace_not_applied'],
    ],
    [
      'a cancel that may still be in flight waits',
      order('pending_cancel', 'B1'),
      { ...evidence(broker('new')), requestMayBeInFlight: true },
      ['unresolved'],
    ],
    [
      'a replace that may still be in flight waits',
      order('pending_replace', 'B1'),
      { ...evidence(broker('new')), requestMayBeInFlight: true },
      ['unresolved'],
    ],
    [
      'a late fill on a canceled order is applied (account pass)',
      order('canceled', 'B1', ['e1']),
      evidence(broker('canceled', '2'), [fill('e1', 1), fill('e2', 2)]),
      ['fill', 'cancel'],
    ],
  ])('%s', (_, o, e, expected) => {
    expect(kinds(reconcileOrder(o, e))).toEqual(expected);
  });

  it('applies missing fills in execution time order and names the reason of a never-sent order', () => {
    const actions = reconcileOrder(
      order('unknown'),
      evidence(broker('filled', '2'), [fill('late', 20), fill('early', 10)]),
    );
    expect(actions).toEqual([
      { kind: 'accept', brokerOrderId: 'B1' },
      { kind: 'fill', fill: fill('early', 10) },
      { kind: 'fill', fill: fill('late', 20) },
    ]);
    expect(reconcileOrder(order('pending_new'), evidence(null))).toEqual([
      { kind: 'reject', code: 'not_submitted', message: 'the broker never received the order' },
    ]);
  });

  it('rejects an unknown replacement the broker never created: the old order is not replaced there', () => {
    const unmatched = (old: BrokerOrderEvidence | null, inFlight = false): ReconciliationEvidence => ({
      ...evidence(null, [], false),
      replacedOrder: old,
      requestMayBeInFlight: inFlight,
    });
    for (const status of ['new', 'partially_filled', 'filled', 'canceled', 'expired'] as const) {
      expect(reconcileOrder(order('unknown'), unmatched(broker(status)))).toEqual([
        {
          kind: 'reject',
          code: 'broker.rejected',
          message: `the broker did not replace the order (it is ${status} there): the replacement was never created`,
        },
      ]);
    }
    // Replaced there: the replacement exists (matching must find it); in flight or no old order: no proof.
    expect(kinds(reconcileOrder(order('unknown'), unmatched(broker('replaced'))))).toEqual(['unresolved']);
    expect(kinds(reconcileOrder(order('unknown'), unmatched(broker('new'), true)))).toEqual(['unresolved']);
    expect(kinds(reconcileOrder(order('unknown'), unmatched(null)))).toEqual(['unresolved']);
    const pending = { ...broker('new'), replacePending: true };
    expect(kinds(reconcileOrder(order('unknown'), unmatched(pending)))).toEqual(['unresolved']);
  });
});

describe('matchBrokerOrder (brokers without lookup by our client order id)', () => {
  const T = 1_000_000;
  const ours = {
    symbol: 'SPY',
    side: 'buy' as const,
    quantity: new Decimal(10),
    limitPrice: new Decimal('167.40'),
    createdAt: T,
  };
  const candidate = (id: string, extra: Partial<BrokerOrderCandidate> = {}): BrokerOrderCandidate => ({
    brokerOrderId: id,
    clientOrderId: null,
    status: 'new',
    filledQuantity: new Decimal(0),
    symbol: 'SPY',
    side: 'buy',
    quantity: new Decimal(10),
    limitPrice: new Decimal('167.4'),
    createdAt: T + 500,
    ...extra,
  });

  it('matches the one order with the same symbol, side, quantity and price inside the window', () => {
    const match = matchBrokerOrder(ours, [candidate('A'), candidate('B', { side: 'sell' })], 5_000);
    expect(match).toMatchObject({ kind: 'matched', order: { brokerOrderId: 'A' } });
  });

  it.each<[string, Partial<BrokerOrderCandidate>]>([
    ['another symbol', { symbol: 'QQQ' }],
    ['another side', { side: 'sell' }],
    ['another quantity', { quantity: new Decimal(11) }],
    ['another price', { limitPrice: new Decimal('167.41') }],
    ['a market order', { limitPrice: null }],
    ['created before our intent', { createdAt: T - 1 }],
    ['created after the window', { createdAt: T + 5_001 }],
  ])('does not match %s', (_, extra) => {
    expect(matchBrokerOrder(ours, [candidate('A', extra)], 5_000)).toEqual({ kind: 'none' });
  });

  it('settles nothing when two orders match, and skips orders another of ours has claimed', () => {
    expect(matchBrokerOrder(ours, [candidate('A'), candidate('B')], 5_000)).toEqual({ kind: 'ambiguous', count: 2 });
    expect(matchBrokerOrder(ours, [candidate('A'), candidate('B')], 5_000, new Set(['A']))).toMatchObject({
      kind: 'matched',
      order: { brokerOrderId: 'B' },
    });
  });
});
