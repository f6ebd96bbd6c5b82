import { z } from 'zod';

/** At most `points` requests per fixed window of `seconds`, counted from a client's first request in it. */
export interface RateRule {
  readonly points: number;
  /** Whole seconds: rate-limiter-flexible's Redis store keeps windows in seconds. */
  readonly seconds: number;
}

/** Every abuse limit of the gateway (config.ts `RATE_LIMIT_*`, `WS_MAX_*`); an empty rule list is no limit. */
export interface RateLimitConfig {
  /** Every non-public REST request, per authenticated subject. */
  readonly requests: readonly RateRule[];
  /** Order placement and replacement (POST, PATCH of orders), per subject, on top of `requests`. */
  readonly orders: readonly RateRule[];
  /** Requests without a valid token, per remote IP (only the refused ones are counted). */
  readonly unauthenticated: readonly RateRule[];
  /** Stream subscriptions (order accounts plus quote symbols) on one connection. */
  readonly wsMaxSubscriptions: number;
  /** Authenticated stream connections of one subject at once, across every instance. */
  readonly wsMaxConnectionsPerPrincipal: number;
}

const UNIT_SECONDS = { s: 1, m: 60, h: 3600 } as const;
const RULE = /^(\d+)\/(\d*)([smh])$/;

/**
 * Parses `100/1s,3000/1m` (requests per window; `/s` means `/1s`) into rules, or `off` into none.
 * Returns an error message for anything else.
 */
export function parseRateRules(text: string): RateRule[] | string {
  const trimmed = text.trim();
  if (trimmed === 'off' || trimmed === '') {
    return [];
  }
  const rules: RateRule[] = [];
  for (const part of trimmed.split(',')) {
    const match = RULE.exec(part.trim());
    if (!match) {
      return `"${part.trim()}" is not <requests>/<window> with a window like 1s, 10s, 1m or 1h (or "off")`;
    }
    const points = Number(match[1]);
    const seconds = Number(match[2] || '1') * UNIT_SECONDS[match[3] as keyof typeof UNIT_SECONDS];
    if (points < 1 || seconds < 1) {
      return `"${part.trim()}" needs at least 1 request per window of at least 1 s`;
    }
    rules.push({ points, seconds });
  }
  return rules;
}

/** A zod schema for one `RATE_LIMIT_*` variable with its default, parsed into rules. */
export function rateRulesFrom(def: string) {
  return z
    .string()
    .default(def)
    .transform((text, ctx) => {
      const rules = parseRateRules(text);
      if (typeof rules === 'string') {
        ctx.addIssue({ code: 'custom', message: rules });
        return z.NEVER;
      }
      return rules;
    });
}
