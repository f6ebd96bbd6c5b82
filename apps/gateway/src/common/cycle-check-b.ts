import { ping } from './cycle-check-a.js';

/** Deliberate import cycle with cycle-check-a.ts, to show that `npm run depcruise` fails on one. */
export function pong(depth: number): number {
  return depth <= 0 ? 0 : ping(depth - 1) + 1;
}
