import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pendingOrder } from '../../../test/support/orders.js';
import { applyOrderEvent } from './apply-order-event.js';
import { Decimal, PRICE_SCALE } from './decimal.js';
import type { Order } from './order.js';
import type { OrderEvent, OrderStatusEvent } from './order-event.js';
import { ORDER_STATUSES, type OrderStatus } from './order-status.js';
import { eventNameFor, nextStatus } from './transition.js';

const T0 = 1_700_000_000_000;
const AT = T0 + 5_000;

function order(status: OrderStatus, fields: Partial<Order> = {}): Order {
  return {
    ...pendingOrder('0190a1b2-0000-7000-8000-0000000000aa', 'c-1', '10', {
      id: '0190a1b2-0000-7000-8000-000000000001',
      type: 'limit',
      limitPrice: new Decimal('500.00'),
      status,
      createdAt: T0,
      updatedAt: T0,
    }),
    lastSeq: 3,
    ...fields,
  };
}

/** One event of each kind with its data (fills: a partial one and one completing a 10-share order). */
const EVENTS: Readonly<Record<string, OrderEvent>> = {
  accepted: { kind: 'accepted', at: AT, brokerOrderId: 'B-1' },
  rejected: { kind: 'rejected', at: AT, reason: { code: 'broker.rejected', message: 'no' } },
  submitted_unknown: { kind: 'submitted_unknown', at: AT },
  fill_partial: { kind: 'fill', at: AT, quantity: new Decimal(4), price: new Decimal('500.10'), brokerOrderId: 'B-1' },
  fill_complete: { kind: 'fill', at: AT, quantity: new Decimal(10), price: new Decimal('500.10') },
  cancel_requested: { kind: 'cancel_requested', at: AT },
  canceled: { kind: 'canceled', at: AT, brokerOrderId: 'B-1' },
  cancel_rejected: { kind: 'cancel_rejected', at: AT },
  replace_requested: { kind: 'replace_requested', at: AT, replacedByOrderId: 'R-1' },
  replaced: { kind: 'replaced', at: AT },
  replace_rejected: { kind: 'replace_rejected', at: AT },
  expired: { kind: 'expired', at: AT, brokerOrderId: 'B-1' },
};

/** The transition table's view of an event on an unfilled 10-share order. */
function statusEventOf(event: OrderEvent, o: Order): OrderStatusEvent {
  if (event.kind === 'fill') {
    return { kind: 'fill', complete: o.filledQuantity.plus(event.quantity).greaterThanOrEqualTo(o.quantity) };
  }
  if (event.kind === 'cancel_rejected' || event.kind === 'replace_rejected') {
    return { kind: event.kind, hasFills: o.filledQuantity.greaterThan(0) };
  }
  return { kind: event.kind };
}

const anyStatus = fc.constantFrom(...ORDER_STATUSES);
const anyEvent = fc.constantFrom(...Object.values(EVENTS));

describe('applyOrderEvent: the status follows the transition table', () => {
  it('applies exactly what the table allows, with its event name, and never modifies its input', () => {
    fc.assert(
      fc.property(anyStatus, anyEvent, (status, event) => {
        const before = order(status);
        const snapshot = JSON.stringify(before);
        const outcome = applyOrderEvent(before, event);
        expect(JSON.stringify(before)).toBe(snapshot);
        const held = event.kind === 'cancel_requested' && (status === 'pending_new' || status === 'unknown');
        if (held) {
          expect(outcome).toEqual({ kind: 'applied', order: { ...before, cancelRequestedAt: AT }, eventName: null });
          return;
        }
        const expected = nextStatus(status, statusEventOf(event, before));
        if (expected === null) {
          expect(outcome).toEqual({ kind: 'invalid', from: status, event, reason: 'not_allowed' });
        } else {
          expect(outcome.kind).toBe('applied');
          if (outcome.kind === 'applied') {
            expect(outcome.order.status).toBe(expected);
            expect(outcome.order.updatedAt).toBe(AT);
            expect(outcome.order.lastSeq).toBe(before.lastSeq);
            expect(outcome.eventName).toBe(eventNameFor(statusEventOf(event, before)));
          }
        }
      }),
    );
  });

  it('keeps the first broker order id it was given', () => {
    fc.assert(
      fc.property(anyStatus, anyEvent, (status, event) => {
        const outcome = applyOrderEvent(order(status, { brokerOrderId: 'B-0' }), event);
        if (outcome.kind === 'applied') {
          expect(outcome.order.brokerOrderId).toBe('B-0');
        }
      }),
    );
  });
});

describe('applyOrderEvent: fills', () => {
  const qty = fc.integer({ min: 1, max: 1_000 }).map((n) => new Decimal(n));
  const px = fc.integer({ min: 1, max: 1_000_000 }).map((n) => new Decimal(n).dividedBy(100));

  it('adds up the filled quantity and the notional, with the VWAP as average, never past the order quantity', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(qty, px), { minLength: 1, maxLength: 12 }), (fills) => {
        let current = order('new', { quantity: new Decimal(2_000) });
        let notional = new Decimal(0);
        let filled = new Decimal(0);
        for (const [quantity, price] of fills) {
          const outcome = applyOrderEvent(current, { kind: 'fill', at: AT, quantity, price });
          if (filled.plus(quantity).greaterThan(current.quantity)) {
            expect(outcome).toMatchObject({ kind: 'invalid', reason: 'overfill' });
            continue;
          }
          if (current.status === 'filled') {
            expect(outcome).toMatchObject({ kind: 'invalid', reason: 'not_allowed' });
            continue;
          }
          filled = filled.plus(quantity);
          notional = notional.plus(quantity.times(price));
          expect(outcome.kind).toBe('applied');
          if (outcome.kind !== 'applied') {
            return;
          }
          current = outcome.order;
          expect(current.filledQuantity.equals(filled)).toBe(true);
          expect(current.filledNotional.equals(notional)).toBe(true);
          expect(current.averageFillPrice?.equals(notional.dividedBy(filled).toDecimalPlaces(PRICE_SCALE))).toBe(true);
          expect(current.status).toBe(filled.equals(current.quantity) ? 'filled' : 'partially_filled');
          expect(outcome.eventName).toBe(current.status);
        }
      }),
    );
  });

  it("sizes a replacement's fill by the quantity the venue booked", () => {
    const replacement = order('pending_new', { quantity: new Decimal(10), replacesOrderId: 'O-1' });
    const outcome = applyOrderEvent(replacement, {
      kind: 'fill',
      at: AT,
      quantity: new Decimal(6),
      price: new Decimal('500'),
      bookedQuantity: new Decimal(6),
      brokerOrderId: 'B-9',
    });
    expect(outcome).toMatchObject({ kind: 'applied', eventName: 'filled' });
    if (outcome.kind === 'applied') {
      expect(outcome.order).toMatchObject({ status: 'filled', brokerOrderId: 'B-9' });
      expect(outcome.order.quantity.equals(6)).toBe(true);
    }
  });

  it('refuses a non-positive quantity or price', () => {
    const zero = { kind: 'fill', at: AT, quantity: new Decimal(0), price: new Decimal(1) } as const;
    expect(() => applyOrderEvent(order('new'), zero)).toThrow(RangeError);
  });
});

describe('applyOrderEvent: what each event changes', () => {
  it.each([
    ['accepted', 'pending_new', { status: 'new', brokerOrderId: 'B-1' }, 'new'],
    [
      'rejected',
      'pending_new',
      { status: 'rejected', rejectReason: { code: 'broker.rejected', message: 'no' } },
      'rejected',
    ],
    ['submitted_unknown', 'pending_new', { status: 'unknown' }, 'unknown'],
    ['cancel_requested', 'new', { status: 'pending_cancel', cancelRequestedAt: null }, 'pending_cancel'],
    ['canceled', 'pending_cancel', { status: 'canceled', brokerOrderId: 'B-1' }, 'canceled'],
    ['cancel_rejected', 'pending_cancel', { status: 'new' }, 'restated'],
    ['replace_requested', 'new', { status: 'pending_replace', replacedByOrderId: 'R-1' }, 'pending_replace'],
    ['replaced', 'pending_replace', { status: 'replaced' }, 'replaced'],
    ['replace_rejected', 'pending_replace', { status: 'new', replacedByOrderId: null }, 'restated'],
    ['expired', 'new', { status: 'expired', brokerOrderId: 'B-1' }, 'expired'],
  ] as const)('%s from %s', (name, from, fields, eventName) => {
    const before = order(from, { replacedByOrderId: from === 'pending_replace' ? 'R-1' : null });
    const outcome = applyOrderEvent(before, EVENTS[name]!);
    expect(outcome).toEqual({ kind: 'applied', order: { ...before, ...fields, updatedAt: AT }, eventName });
  });

  it("takes a replacement's booked quantity from its acknowledgement", () => {
    const outcome = applyOrderEvent(order('pending_new', { replacesOrderId: 'O-1' }), {
      kind: 'accepted',
      at: AT,
      brokerOrderId: 'B-2',
      bookedQuantity: new Decimal(7),
    });
    expect(outcome.kind === 'applied' && outcome.order.quantity.equals(7)).toBe(true);
  });

  it('restates a refused cancel to partially_filled when the order has fills', () => {
    const outcome = applyOrderEvent(
      order('pending_cancel', { filledQuantity: new Decimal(3) }),
      EVENTS.cancel_rejected!,
    );
    expect(outcome).toMatchObject({ kind: 'applied', order: { status: 'partially_filled' }, eventName: 'restated' });
  });

  it('holds a cancel asked for before the acknowledgement, without an event and without touching updatedAt', () => {
    const held = applyOrderEvent(order('unknown'), EVENTS.cancel_requested!);
    expect(held).toEqual({ kind: 'applied', order: order('unknown', { cancelRequestedAt: AT }), eventName: null });
    const again = order('pending_new', { cancelRequestedAt: T0 });
    expect(applyOrderEvent(again, { kind: 'cancel_requested', at: AT })).toEqual({
      kind: 'applied',
      order: again,
      eventName: null,
    });
  });

  it('sends the held cancel once the order works: pending_cancel clears cancelRequestedAt', () => {
    const outcome = applyOrderEvent(order('new', { cancelRequestedAt: T0 }), EVENTS.cancel_requested!);
    expect(outcome).toMatchObject({ kind: 'applied', order: { status: 'pending_cancel', cancelRequestedAt: null } });
  });
});

describe('applyOrderEvent: a replace reconciliation gave up on, confirmed late by the broker', () => {
  /** Applies `events` in order; every one must apply. */
  function run(start: Order, events: readonly OrderEvent[]): Order {
    return events.reduce((o, event) => {
      const outcome = applyOrderEvent(o, event);
      if (outcome.kind !== 'applied') {
        throw new Error(`${o.status} --${event.kind}--> refused`);
      }
      return outcome.order;
    }, start);
  }

  // The replace request is still on its way when the in-flight window ends: reconciliation finds the order
  // working at the broker and restates it (`replace_rejected`). A new request is then sent for the working
  // order, and only after it does the broker act on the old replace and report the order replaced. The
  // broker's evidence wins: the order is replaced, whichever request is pending (otherwise it stays
  // uncertain for ever, and its account's entries stay blocked after a restart).
  const givenUp: OrderEvent[] = [EVENTS.replace_requested!, EVENTS.replace_rejected!];

  it('is replaced with a cancel pending', () => {
    const pendingCancel = run(order('new'), [...givenUp, EVENTS.cancel_requested!]);
    expect(pendingCancel.status).toBe('pending_cancel');
    expect(applyOrderEvent(pendingCancel, EVENTS.replaced!)).toMatchObject({
      kind: 'applied',
      order: { status: 'replaced' },
      eventName: 'replaced',
    });
  });

  it('is replaced with a cancel pending after a partial fill', () => {
    const pendingCancel = run(order('new'), [EVENTS.fill_partial!, ...givenUp, EVENTS.cancel_requested!]);
    expect(pendingCancel).toMatchObject({ status: 'pending_cancel', filledQuantity: new Decimal(4) });
    expect(applyOrderEvent(pendingCancel, EVENTS.replaced!)).toMatchObject({
      kind: 'applied',
      order: { status: 'replaced' },
    });
  });
});
