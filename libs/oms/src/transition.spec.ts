import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ORDER_EVENT_NAMES, type OrderStatusEvent } from './order-event.js';
import { ORDER_STATUSES, type OrderStatus } from './order-status.js';
import { InvalidOrderTransitionError, eventNameFor, nextStatus, transition } from './transition.js';

/** Every event the state machine knows, each boolean flag in both of its values. */
const EVENTS = {
  accepted: { kind: 'accepted' },
  rejected: { kind: 'rejected' },
  submitted_unknown: { kind: 'submitted_unknown' },
  fill_partial: { kind: 'fill', complete: false },
  fill_complete: { kind: 'fill', complete: true },
  cancel_requested: { kind: 'cancel_requested' },
  canceled: { kind: 'canceled' },
  cancel_rejected_unfilled: { kind: 'cancel_rejected', hasFills: false },
  cancel_rejected_with_fills: { kind: 'cancel_rejected', hasFills: true },
  replace_requested: { kind: 'replace_requested' },
  replaced: { kind: 'replaced' },
  replace_rejected_unfilled: { kind: 'replace_rejected', hasFills: false },
  replace_rejected_with_fills: { kind: 'replace_rejected', hasFills: true },
  expired: { kind: 'expired' },
} as const satisfies Record<string, OrderStatusEvent>;

type EventVariant = keyof typeof EVENTS;
const EVENT_VARIANTS = Object.keys(EVENTS) as EventVariant[];

/** `null` = invalid transition. The Record types force every status × event cell to be written out. */
type Row = Readonly<Record<EventVariant, OrderStatus | null>>;
const NONE: Row = {
  accepted: null,
  rejected: null,
  submitted_unknown: null,
  fill_partial: null,
  fill_complete: null,
  cancel_requested: null,
  canceled: null,
  cancel_rejected_unfilled: null,
  cancel_rejected_with_fills: null,
  replace_requested: null,
  replaced: null,
  replace_rejected_unfilled: null,
  replace_rejected_with_fills: null,
  expired: null,
};

const EXPECTED: Readonly<Record<OrderStatus, Row>> = {
  pending_new: {
    accepted: 'new',
    rejected: 'rejected',
    submitted_unknown: 'unknown',
    fill_partial: 'partially_filled',
    fill_complete: 'filled',
    cancel_requested: null,
    canceled: 'canceled',
    cancel_rejected_unfilled: null,
    cancel_rejected_with_fills: null,
    replace_requested: null,
    replaced: null,
    replace_rejected_unfilled: null,
    replace_rejected_with_fills: null,
    expired: 'expired',
  },
  new: {
    accepted: 'new',
    rejected: 'rejected',
    submitted_unknown: null,
    fill_partial: 'partially_filled',
    fill_complete: 'filled',
    cancel_requested: 'pending_cancel',
    canceled: 'canceled',
    cancel_rejected_unfilled: null,
    cancel_rejected_with_fills: null,
    replace_requested: 'pending_replace',
    replaced: 'replaced',
    replace_rejected_unfilled: null,
    replace_rejected_with_fills: null,
    expired: 'expired',
  },
  partially_filled: {
    accepted: 'partially_filled',
    rejected: null,
    submitted_unknown: null,
    fill_partial: 'partially_filled',
    fill_complete: 'filled',
    cancel_requested: 'pending_cancel',
    canceled: 'canceled',
    cancel_rejected_unfilled: null,
    cancel_rejected_with_fills: null,
    replace_requested: 'pending_replace',
    replaced: 'replaced',
    replace_rejected_unfilled: null,
    replace_rejected_with_fills: null,
    expired: 'expired',
  },
  pending_cancel: {
    accepted: 'pending_cancel',
    // The broker refusing the order while a cancel is on its way (Alpaca's replacement rejected on the stream).
    rejected: 'rejected',
    submitted_unknown: null,
    fill_partial: 'pending_cancel',
    fill_complete: 'filled',
    cancel_requested: null,
    canceled: 'canceled',
    cancel_rejected_unfilled: 'new',
    cancel_rejected_with_fills: 'partially_filled',
    replace_requested: null,
    replaced: 'replaced',
    replace_rejected_unfilled: null,
    replace_rejected_with_fills: null,
    expired: 'expired',
  },
  pending_replace: {
    accepted: 'pending_replace',
    rejected: null,
    submitted_unknown: null,
    fill_partial: 'pending_replace',
    fill_complete: 'filled',
    cancel_requested: null,
    canceled: 'canceled',
    cancel_rejected_unfilled: null,
    cancel_rejected_with_fills: null,
    replace_requested: null,
    replaced: 'replaced',
    replace_rejected_unfilled: 'new',
    replace_rejected_with_fills: 'partially_filled',
    expired: 'expired',
  },
  filled: {
    accepted: 'filled',
    rejected: null,
    submitted_unknown: null,
    fill_partial: null,
    fill_complete: null,
    cancel_requested: null,
    canceled: null,
    cancel_rejected_unfilled: 'filled',
    cancel_rejected_with_fills: 'filled',
    replace_requested: null,
    replaced: null,
    replace_rejected_unfilled: 'filled',
    replace_rejected_with_fills: 'filled',
    expired: null,
  },
  canceled: {
    accepted: 'canceled',
    rejected: null,
    submitted_unknown: null,
    fill_partial: 'canceled',
    fill_complete: 'filled',
    cancel_requested: null,
    canceled: null,
    cancel_rejected_unfilled: null,
    cancel_rejected_with_fills: null,
    replace_requested: null,
    replaced: null,
    replace_rejected_unfilled: null,
    replace_rejected_with_fills: null,
    expired: null,
  },
  replaced: {
    accepted: 'replaced',
    rejected: null,
    submitted_unknown: null,
    fill_partial: 'replaced',
    fill_complete: 'replaced',
    cancel_requested: null,
    canceled: null,
    cancel_rejected_unfilled: null,
    cancel_rejected_with_fills: null,
    replace_requested: null,
    replaced: null,
    replace_rejected_unfilled: null,
    replace_rejected_with_fills: null,
    expired: null,
  },
  rejected: { ...NONE, accepted: 'new', fill_partial: 'partially_filled', fill_complete: 'filled' },
  denied: NONE,
  expired: {
    accepted: 'expired',
    rejected: null,
    submitted_unknown: null,
    fill_partial: 'expired',
    fill_complete: 'filled',
    cancel_requested: null,
    canceled: null,
    cancel_rejected_unfilled: null,
    cancel_rejected_with_fills: null,
    replace_requested: null,
    replaced: null,
    replace_rejected_unfilled: null,
    replace_rejected_with_fills: null,
    expired: null,
  },
  unknown: {
    accepted: 'new',
    rejected: 'rejected',
    submitted_unknown: null,
    fill_partial: 'partially_filled',
    fill_complete: 'filled',
    cancel_requested: null,
    canceled: 'canceled',
    cancel_rejected_unfilled: null,
    cancel_rejected_with_fills: null,
    replace_requested: null,
    replaced: null,
    replace_rejected_unfilled: null,
    replace_rejected_with_fills: null,
    expired: 'expired',
  },
};

const CELLS = ORDER_STATUSES.flatMap((from) =>
  EVENT_VARIANTS.map((name) => ({ from, name, event: EVENTS[name], expected: EXPECTED[from][name] })),
);

const anyEvent: fc.Arbitrary<OrderStatusEvent> = fc.constantFrom(...Object.values(EVENTS));
const anyStatus: fc.Arbitrary<OrderStatus> = fc.constantFrom(...ORDER_STATUSES);

describe('transition table', () => {
  it('covers every status and every event kind', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...ORDER_STATUSES].sort());
    expect(CELLS).toHaveLength(ORDER_STATUSES.length * EVENT_VARIANTS.length);
  });

  it.each(CELLS.filter((c) => c.expected !== null))('$from --$name--> $expected', ({ from, event, expected }) => {
    expect(nextStatus(from, event)).toBe(expected);
    expect(transition(from, event)).toBe(expected);
  });

  it.each(CELLS.filter((c) => c.expected === null))('$from --$name--> is invalid', ({ from, event }) => {
    expect(nextStatus(from, event)).toBeNull();
    expect(() => transition(from, event)).toThrow(InvalidOrderTransitionError);
  });

  it('names the status and event in the error', () => {
    const event: OrderStatusEvent = { kind: 'cancel_requested' };
    try {
      transition('filled', event);
      expect.unreachable('filled --cancel_requested--> must throw');
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidOrderTransitionError);
      expect(error).toMatchObject({ from: 'filled', trigger: event, name: 'InvalidOrderTransitionError' });
      expect((error as Error).message).toContain('filled --cancel_requested-->');
    }
  });
});

describe('transition properties', () => {
  it('accepts nothing from denied: it never left the gateway', () => {
    fc.assert(
      fc.property(anyEvent, (event) => {
        expect(nextStatus('denied', event)).toBeNull();
        expect(() => transition('denied', event)).toThrow(InvalidOrderTransitionError);
      }),
    );
  });

  it('accepts only broker evidence (an ack or a fill) from rejected', () => {
    fc.assert(
      fc.property(anyEvent, (event) => {
        const evidence = event.kind === 'accepted' || event.kind === 'fill';
        expect(nextStatus('rejected', event) !== null).toBe(evidence);
      }),
    );
  });

  it('nextStatus and transition agree everywhere', () => {
    fc.assert(
      fc.property(anyStatus, anyEvent, (from, event) => {
        const next = nextStatus(from, event);
        if (next === null) {
          expect(() => transition(from, event)).toThrow(InvalidOrderTransitionError);
        } else {
          expect(transition(from, event)).toBe(next);
        }
      }),
    );
  });

  it('from pending_new, random valid event sequences only reach known statuses, never denied', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 40 }), (choices) => {
        let status: OrderStatus = 'pending_new';
        for (const choice of choices) {
          const valid = Object.values(EVENTS).filter((t) => nextStatus(status, t) !== null);
          if (valid.length === 0) {
            // Only the statuses that never worked at a venue are dead ends.
            expect(['rejected', 'denied']).toContain(status);
            return;
          }
          const next = transition(status, valid[choice % valid.length]!);
          expect(ORDER_STATUSES).toContain(next);
          // `denied` is decided by our risk check when the order is inserted, never reached by an event.
          expect(next).not.toBe('denied');
          // Once filled, only late acknowledgements and rejected cancel/replaces arrive: it stays filled.
          if (status === 'filled') {
            expect(next).toBe('filled');
          }
          status = next;
        }
      }),
    );
  });

  it('a completing fill leads to filled wherever a fill is accepted, except on a replaced order', () => {
    fc.assert(
      fc.property(anyStatus, (from) => {
        const next = nextStatus(from, { kind: 'fill', complete: true });
        if (next !== null) {
          expect(next).toBe(from === 'replaced' ? 'replaced' : 'filled');
        }
      }),
    );
  });
});

describe('eventNameFor', () => {
  const EXPECTED_EVENT: Readonly<Record<EventVariant, string>> = {
    accepted: 'new',
    rejected: 'rejected',
    submitted_unknown: 'unknown',
    fill_partial: 'partially_filled',
    fill_complete: 'filled',
    cancel_requested: 'pending_cancel',
    canceled: 'canceled',
    cancel_rejected_unfilled: 'restated',
    cancel_rejected_with_fills: 'restated',
    replace_requested: 'pending_replace',
    replaced: 'replaced',
    replace_rejected_unfilled: 'restated',
    replace_rejected_with_fills: 'restated',
    expired: 'expired',
  };

  it.each(EVENT_VARIANTS)('%s', (name) => {
    expect(eventNameFor(EVENTS[name])).toBe(EXPECTED_EVENT[name]);
  });

  it('is total: every event has a public event name', () => {
    fc.assert(
      fc.property(anyEvent, (event) => {
        expect(ORDER_EVENT_NAMES).toContain(eventNameFor(event));
      }),
    );
  });
});
