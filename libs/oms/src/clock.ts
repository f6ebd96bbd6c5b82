/** The source of time for domain code (epoch milliseconds), injected so tests and replays are deterministic. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
