import { pong } from './cycle-check-b.js';

/** Deliberate import cycle with cycle-check-b.ts, to show that `npm run depcruise` fails on one. */
export function ping(depth: number): number {
  return depth <= 0 ? 0 : pong(depth - 1) + 1;
}
