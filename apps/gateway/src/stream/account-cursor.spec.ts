import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AccountCursor, REPLAY_PAGE } from './account-cursor.js';
import type { StreamEvent } from '../orders/stream-event.js';

const event = (seq: number): StreamEvent => ({
  type: 'order',
  accountId: 'a',
  seq,
  event: 'new',
  order: {} as never,
  ts: '',
});

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('AccountCursor', () => {
  it('joins a replay from PostgreSQL to a lossy, duplicating, reordering live feed: every seq once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 20 }),
        fc.array(fc.constantFrom('deliver', 'drop', 'duplicate', 'delay'), { minLength: 60, maxLength: 60 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 200, maxLength: 200 }),
        async (total, fromSeq, fates, loadDelays) => {
          const committed: StreamEvent[] = [];
          const sent: number[] = [];
          let loads = 0;
          const cursor = new AccountCursor(
            'a',
            fromSeq,
            (e) => {
              sent.push(e.seq);
              return true;
            },
            async (after) => {
              for (let i = 0; i < (loadDelays[loads++ % loadDelays.length] ?? 0); i++) {
                await tick();
              }
              return committed.filter((e) => e.seq > after).slice(0, REPLAY_PAGE);
            },
            (error) => {
              throw error;
            },
          );
          const subscribe = cursor.catchUp();
          const delayed: StreamEvent[] = [];
          for (let seq = 1; seq <= fromSeq + total; seq++) {
            committed.push(event(seq));
            // Liveness assumption: the newest event does reach the cursor live (as it does on this
            // instance's own bus); anything before it may be lost, doubled or late.
            const fate = seq === fromSeq + total ? 'deliver' : fates[seq % fates.length];
            if (fate === 'deliver') {
              cursor.offer(event(seq));
            } else if (fate === 'duplicate') {
              cursor.offer(event(seq));
              cursor.offer(event(seq));
            } else if (fate === 'delay') {
              delayed.push(event(seq));
            }
            if (seq % 7 === 0) {
              delayed
                .splice(0)
                .reverse()
                .forEach((e) => cursor.offer(e));
              await tick();
            }
          }
          delayed.forEach((e) => cursor.offer(e));
          await subscribe;
          for (let i = 0; i < 100; i++) {
            await tick();
          }
          const expected = Array.from({ length: total }, (_, i) => fromSeq + i + 1);
          expect(sent).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('sends nothing after it is closed', async () => {
    const sent: number[] = [];
    const cursor = new AccountCursor(
      'a',
      0,
      (e) => (sent.push(e.seq), true),
      () => Promise.resolve([]),
      () => {},
    );
    cursor.offer(event(1));
    cursor.close();
    cursor.offer(event(2));
    await cursor.catchUp();
    expect(sent).toEqual([1]);
  });
});
