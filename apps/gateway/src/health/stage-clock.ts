/**
 * The clock of the latency stages (`gateway_order_stage_seconds`): `process.hrtime.bigint()`, nanoseconds
 * on a monotonic clock, so a stage is never negative and never jumps with the wall clock.
 */
export type StageStart = bigint;

/** Now, in nanoseconds on the monotonic clock (a stage's start). */
export const stageStart = (): StageStart => process.hrtime.bigint();

/** Seconds from `start` to now (nanosecond resolution). */
export const secondsSince = (start: StageStart): number => Number(process.hrtime.bigint() - start) / 1e9;
