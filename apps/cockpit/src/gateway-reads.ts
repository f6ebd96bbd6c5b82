import { useEffect, useState } from 'react';

/** How often the Accounts panel re-reads reconciliation passes and the audit tail, ms. */
export const READ_EVERY_MS = 5_000;

export interface ReconciliationBreak {
  readonly id: string;
  readonly kind: string;
  readonly symbol: string | null;
  readonly ours: unknown;
  readonly broker: unknown;
  readonly status: string;
}
export interface ReconciliationPass {
  readonly id: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly outcome: string;
  readonly breaks: readonly ReconciliationBreak[];
}
export interface AuditEntry {
  readonly seq: number;
  readonly at: string;
  readonly subject: string | null;
  readonly method: string;
  readonly route: string;
  readonly action: string | null;
  readonly status: number | null;
}

/** GET through the monitor (`/api/...`, forwarded with the operator's token); the problem's code on a refusal. */
async function read<T>(path: string, token: string): Promise<{ ok: true; body: T } | { ok: false; problem: string }> {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json().catch(() => ({}))) as T & { code?: string };
  return res.ok ? { ok: true, body } : { ok: false, problem: `${res.status} ${body.code ?? ''}`.trim() };
}

/** The account's newest reconciliation passes (GET /v1/accounts/{id}/reconciliation?limit=3), re-read every 5 s. */
export function useReconciliation(accountId: string, token: string): ReconciliationPass[] | string | null {
  const [state, setState] = useState<ReconciliationPass[] | string | null>(null);
  useEffect(() => {
    let stopped = false;
    const tick = () =>
      read<{ passes: ReconciliationPass[] }>(
        `/api/accounts/${encodeURIComponent(accountId)}/reconciliation?limit=3`,
        token,
      )
        .then((r) => !stopped && setState(r.ok ? r.body.passes : r.problem))
        .catch((e: Error) => !stopped && setState(e.message));
    void tick();
    const timer = setInterval(() => void tick(), READ_EVERY_MS);
    return () => ((stopped = true), clearInterval(timer));
  }, [accountId, token]);
  return state;
}

/**
 * The newest `keep` audit entries (GET /v1/audit?after=&limit=100, read forward from the last seen seq every
 * 5 s), or the gateway's refusal; only asked for when `enabled` (the token's roles may read it).
 */
export function useAuditTail(token: string, enabled: boolean, keep = 15): AuditEntry[] | string | null {
  const [state, setState] = useState<AuditEntry[] | string | null>(null);
  useEffect(() => {
    if (!enabled) {
      return;
    }
    let stopped = false;
    let after = 0;
    let tail: AuditEntry[] = [];
    const tick = async () => {
      for (let page = 0; page < 20 && !stopped; page++) {
        const r = await read<{ entries: AuditEntry[] }>(`/api/audit?after=${after}&limit=100`, token);
        if (!r.ok) {
          setState(r.problem);
          return;
        }
        tail = [...tail, ...r.body.entries].slice(-keep);
        after = r.body.entries.at(-1)?.seq ?? after;
        if (r.body.entries.length < 100) {
          break;
        }
      }
      if (!stopped) {
        setState([...tail].reverse());
      }
    };
    void tick().catch((e: Error) => setState(e.message));
    const timer = setInterval(() => void tick().catch((e: Error) => setState(e.message)), READ_EVERY_MS);
    return () => ((stopped = true), clearInterval(timer));
  }, [token, enabled, keep]);
  return state;
}
