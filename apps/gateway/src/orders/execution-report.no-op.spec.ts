import { describe, expect, it } from 'vitest';
import { brokerOrderId, ExecutionReportFixture, release, report } from '../../../../test/support/execution-reports.js';
import { pendingOrder } from '../../../../test/support/orders.js';

const f = new ExecutionReportFixture('no-op-reports');

describe('ExecutionReportProcessor: a report that changes nothing (real PostgreSQL)', () => {
  it('drops a repeated ack without the account lock and without a write; a fill still waits and is applied', async () => {
    const orderId = await f.placeOrder('answered', true);
    const before = await f.orderState(orderId);
    expect(before.events).toEqual(['pending_new', 'new']);

    const holder = await f.holdAccountLock();
    try {
      // The ack the submit's answer already recorded: handled while another transaction holds the lock.
      f.source.emit(report(orderId, 'new'));
      f.source.emit(report(orderId, 'pending_cancel'));
      expect(await f.drainedWithin(2_000)).toBe(true);
      const after = await f.orderState(orderId);
      expect(after).toEqual(before);

      // A fill is never dropped: it waits for the lock.
      f.source.emit(report(orderId, 'trade', { id: 'E-answered-1', quantity: '4' }));
      expect(await f.drainedWithin(300)).toBe(false);
    } finally {
      await release(holder);
    }
    await f.processor.drained();
    const filled = await f.orderState(orderId);
    expect(filled.order?.status).toBe('partially_filled');
    expect(filled.order?.filled_quantity).toBe('4');
    expect(filled.events).toEqual(['pending_new', 'new', 'partially_filled']);
    const executions: { broker_execution_id: string }[] = await f.db.dataSource.query(
      'SELECT broker_execution_id FROM executions WHERE order_id = $1',
      [orderId],
    );
    expect(executions.map((e) => e.broker_execution_id)).toEqual(['E-answered-1']);

    // The ack once more, after the fill: still nothing.
    f.source.emit(report(orderId, 'new'));
    await f.processor.drained();
    expect(await f.orderState(orderId)).toEqual(filled);
  });

  it('records an ack racing the submit answer once: the ack waits for the lock and finds the answer recorded', async () => {
    const orderId = await f.placeOrder('racing', false);
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => (locked = resolve));
    // The submit's answer, holding the lock while the ack arrives and reads `pending_new`.
    const recording = f.ledger.inAccount(f.accountId, async (tx) => {
      locked();
      await answered;
      const current = await f.orders.find(tx, orderId);
      await tx.applyEvent(current!, { kind: 'accepted', at: Date.now(), brokerOrderId: brokerOrderId(orderId) });
    });
    await holding;
    f.source.emit(report(orderId, 'new'));
    expect(await f.drainedWithin(300)).toBe(false); // read `pending_new`: it waits for the lock
    answer();
    await recording;
    await f.processor.drained();
    const state = await f.orderState(orderId);
    expect(state.order?.status).toBe('new');
    expect(state.events).toEqual(['pending_new', 'new']);
  });

  it('settles an unknown order with its ack', async () => {
    const order = pendingOrder(f.accountId, 'unknown-ack', '10');
    await f.ledger.inAccount(f.accountId, async (tx) => {
      const stored = await tx.insertOrder(order, 'pending_new', 'paper');
      await tx.applyEvent(stored, { kind: 'submitted_unknown', at: Date.now() });
    });
    f.source.emit(report(order.id, 'new'));
    await f.processor.drained();
    const state = await f.orderState(order.id);
    expect(state.order?.status).toBe('new');
    expect(state.events).toEqual(['pending_new', 'unknown', 'new']);
  });
});
