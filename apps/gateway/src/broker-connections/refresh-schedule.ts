import { randomInt } from 'node:crypto';

/** The settings of GatewayConfig `oauth` the schedule reads (seconds). */
export interface RefreshSettings {
  readonly refreshBeforeExpirySeconds: number;
  readonly refreshJitterSeconds: number;
}

/**
 * When to refresh an access token expiring at `accessExpiresAt` (epoch ms), seen at `now`:
 * `refreshBeforeExpirySeconds` ahead of the expiry when the token has longer than that left (Schwab's
 * 30 minutes against the default 300 s), else halfway through what is left (a short-lived token is still
 * refreshed in time, without refreshing at once again and again), plus up to `refreshJitterSeconds` earlier
 * at random (at most a quarter of the remaining lifetime), so that connections made together do not
 * refresh together. Never before `now`.
 * An access token without an expiry (Alpaca OAuth) is never refreshed: null.
 */
export function refreshTime(accessExpiresAt: number | null, now: number, s: RefreshSettings): number | null {
  if (accessExpiresAt === null) {
    return null;
  }
  const remaining = Math.max(0, accessExpiresAt - now);
  const before = s.refreshBeforeExpirySeconds * 1000;
  const lead = before < remaining ? before : remaining / 2;
  const jitterMax = Math.floor(Math.min(s.refreshJitterSeconds * 1000, remaining / 4));
  const jitter = jitterMax > 0 ? randomInt(jitterMax + 1) : 0;
  return Math.max(now, Math.floor(accessExpiresAt - lead - jitter));
}

/** When to try a failed refresh again: `retrySeconds` doubled per failure in a row, at most 32×. */
export function retryTime(now: number, failures: number, retrySeconds: number): number {
  return now + retrySeconds * 1000 * 2 ** Math.min(Math.max(failures - 1, 0), 5);
}
