import { describe, expect, it } from 'vitest';
import { brokerOrderId, ExecutionReportFixture, release, report } from '../../../../test/support/execution-reports.js';

const f = new ExecutionReportFixture('in-flight-acks');

describe('ExecutionReportProcessor: an ack racing the answer of a submission of this process (real PostgreSQL)', () => {
  it('waits for the answer in memory and, the acceptance recorded, takes no lock and writes nothing', async () => {
    const orderId = await f.placeOrder('in-flight', false);
    const pending = f.ledger.answers.expect(orderId);
    const committed = await f.orders.findCommitted(f.accountId, orderId);
    // The order as the answer's transaction commits it (accepted, the broker's id), handed over in memory;
    // meanwhile another transaction holds the account lock, which the ack must not need.
    const accepted = { ...committed!, status: 'new' as const, brokerOrderId: brokerOrderId(orderId) };
    const before = await f.orderState(orderId);
    const holder = await f.holdAccountLock();
    try {
      f.source.emit(report(orderId, 'new'));
      setTimeout(() => pending.settle(accepted), 20);
      expect(await f.drainedWithin(2_000)).toBe(true); // the committed read says pending_new: only the answer frees it
      expect(await f.orderState(orderId)).toEqual(before); // and the ack wrote nothing
    } finally {
      await release(holder);
    }
  });

  it('waits a bounded time only: an answer still under way leaves the ack to the account lock, which records it', async () => {
    const orderId = await f.placeOrder('slow-answer', false);
    const pending = f.ledger.answers.expect(orderId);
    try {
      f.source.emit(report(orderId, 'new'));
      expect(await f.drainedWithin(3_000)).toBe(true);
      const state = await f.orderState(orderId);
      expect(state.order?.status).toBe('new');
      expect(state.events).toEqual(['pending_new', 'new']);
    } finally {
      pending.settle(null);
    }
  });

  it('records the ack when the answer left the order unknown', async () => {
    const orderId = await f.placeOrder('answered-unknown', false);
    const pending = f.ledger.answers.expect(orderId);
    const answered = await f.ledger.inAccount(f.accountId, async (tx) => {
      const current = await f.orders.find(tx, orderId);
      return tx.applyEvent(current!, { kind: 'submitted_unknown', at: Date.now() });
    });
    f.source.emit(report(orderId, 'new'));
    pending.settle(answered!.result);
    await f.processor.drained();
    const state = await f.orderState(orderId);
    expect(state.order?.status).toBe('new');
    expect(state.events).toEqual(['pending_new', 'unknown', 'new']);
  });
});
