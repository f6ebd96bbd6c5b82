import { z } from 'zod';

/**
 * The RTT lockdown (README, "RTT lockdown"): a venue whose broker round trip p99 over the sliding window
 * exceeds its threshold loses entry authority on its accounts (`reducing`, source `lockdown`).
 */
export interface LockdownConfig {
  /** Threshold in ms of every venue without its own (LOCKDOWN_RTT_MS, default 20); null: the lockdown is off. */
  readonly rttMs: number | null;
  /** Per-venue thresholds (LOCKDOWN_RTT_MS_<VENUE>, the venue's name upper-cased; `off` switches one off). */
  readonly rttMsByVenue: Readonly<Record<string, number | null>>;
  /** The sliding window the p99 is taken over (LOCKDOWN_WINDOW_MS, default 10 000). */
  readonly windowMs: number;
  /** Fewer round trips than this in the window decide nothing (LOCKDOWN_MIN_SAMPLES, default 20). */
  readonly minSamples: number;
  /** How long the window must stay under the threshold before the lockdown ends (LOCKDOWN_HOLD_OFF_MS, default 30 000). */
  readonly holdOffMs: number;
  /** `auto`: lifted by the gateway once the hold-off has passed; `manual`: only by risk staff (LOCKDOWN_LIFT). */
  readonly lift: 'auto' | 'manual';
}

const threshold = z.union([z.literal('off').transform(() => null), z.coerce.number().positive()]);
const int = (def: number, min: number) => z.coerce.number().int().min(min).default(def);

const schema = z.object({
  LOCKDOWN_RTT_MS: threshold.default(20),
  LOCKDOWN_WINDOW_MS: int(10_000, 100),
  LOCKDOWN_MIN_SAMPLES: int(20, 1),
  LOCKDOWN_HOLD_OFF_MS: int(30_000, 0),
  LOCKDOWN_LIFT: z.enum(['auto', 'manual']).default('auto'),
});

const PER_VENUE = /^LOCKDOWN_RTT_MS_([A-Z0-9_]+)$/;

/** The LOCKDOWN_* variables; a string naming the bad ones when they do not parse. */
export function lockdownConfigFrom(env: NodeJS.ProcessEnv): LockdownConfig | string {
  const parsed = schema.safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  const rttMsByVenue: Record<string, number | null> = {};
  for (const [name, value] of Object.entries(env)) {
    const venue = PER_VENUE.exec(name)?.[1];
    if (venue === undefined || value === undefined) {
      continue;
    }
    const one = threshold.safeParse(value);
    if (one.success) {
      rttMsByVenue[venue.toLowerCase()] = one.data;
    } else {
      problems.push(`${name}: a positive number of ms or off`);
    }
  }
  if (!parsed.success || problems.length > 0) {
    return problems.join('; ');
  }
  const e = parsed.data;
  return {
    rttMs: e.LOCKDOWN_RTT_MS,
    rttMsByVenue,
    windowMs: e.LOCKDOWN_WINDOW_MS,
    minSamples: e.LOCKDOWN_MIN_SAMPLES,
    holdOffMs: e.LOCKDOWN_HOLD_OFF_MS,
    lift: e.LOCKDOWN_LIFT,
  };
}

/** The threshold of one venue in ms, or null when its lockdown is off. */
export function lockdownThresholdMs(config: LockdownConfig, venue: string): number | null {
  return venue in config.rttMsByVenue ? (config.rttMsByVenue[venue] ?? null) : config.rttMs;
}
