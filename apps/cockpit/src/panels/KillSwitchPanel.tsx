import { useState } from 'react';
import type { CockpitFrame } from '../../../monitor/src/frame.js';
import { type KillSwitchAnswer, killSwitch } from '../connection.js';
import { time } from '../format.js';

const text = (v: unknown): string => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));

/**
 * Kill switch, global or per account: a reason, then a confirmation; the answer is shown as the gateway
 * gave it (the scope's state, by whom, when). Offered only to `risk` and `admin` tokens; the gateway
 * refuses anyone else whatever this page does.
 */
export function KillSwitchPanel({ frame, token, canHalt }: { frame: CockpitFrame; token: string; canHalt: boolean }) {
  const [scope, setScope] = useState<string>('global');
  const [reason, setReason] = useState('');
  const [confirming, setConfirming] = useState<'POST' | 'DELETE' | null>(null);
  const [answer, setAnswer] = useState<KillSwitchAnswer | null>(null);
  const [busy, setBusy] = useState(false);
  const accounts = frame.state?.accounts ?? [];
  const working = accounts.reduce((s, a) => s + a.execution.working, 0);
  const canceledSince = (at: number) =>
    accounts.flatMap((a) => a.recentOrders).filter((o) => o.status === 'canceled' && o.updatedAt >= at).length;

  if (!canHalt) {
    return (
      <section className="panel kill-switch" data-testid="panel-kill-switch">
        <h2>Kill switch</h2>
        <p data-testid="kill-switch-unavailable">
          Your token may not halt trading (the kill switch needs the risk or admin role). Global state:{' '}
          {frame.state?.global.state ?? '–'}.
        </p>
      </section>
    );
  }
  const send = async (method: 'POST' | 'DELETE') => {
    setBusy(true);
    try {
      const body =
        scope === 'global'
          ? { scope: 'global' as const, reason }
          : { scope: 'account' as const, accountId: scope, reason };
      setAnswer(await killSwitch(token, method, body));
    } catch (error) {
      setAnswer({ status: 0, body: { detail: (error as Error).message } });
    } finally {
      setBusy(false);
      setConfirming(null);
    }
  };
  const target = scope === 'global' ? 'every account' : (accounts.find((a) => a.id === scope)?.name ?? scope);
  return (
    <section className="panel kill-switch" data-testid="panel-kill-switch">
      <h2>Kill switch</h2>
      <label>
        Scope{' '}
        <select value={scope} onChange={(e) => setScope(e.target.value)} data-testid="kill-scope">
          <option value="global">global (every account)</option>
          {accounts.map((a) => (
            <option key={a.id} value={a.id}>
              account {a.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Reason{' '}
        <input value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} data-testid="kill-reason" />
      </label>
      <div className="buttons">
        <button
          type="button"
          className="halt"
          disabled={reason.trim() === '' || busy}
          onClick={() => setConfirming('POST')}
          data-testid="kill-halt"
        >
          HALT
        </button>
        <button
          type="button"
          disabled={reason.trim() === '' || busy}
          onClick={() => setConfirming('DELETE')}
          data-testid="kill-rearm"
        >
          Re-arm
        </button>
      </div>
      {confirming && (
        <div className="confirm" role="alertdialog" data-testid="kill-confirm-dialog">
          <p>
            {confirming === 'POST' ? 'Halt' : 'Re-arm'} {target}? Reason: “{reason.trim()}”.
            {confirming === 'POST' && ' New entries are refused at once and working orders are canceled.'}
          </p>
          <button type="button" className="halt" onClick={() => void send(confirming)} data-testid="kill-confirm">
            Confirm {confirming === 'POST' ? 'halt' : 're-arm'}
          </button>
          <button type="button" onClick={() => setConfirming(null)}>
            Cancel
          </button>
        </div>
      )}
      {answer && (
        <div
          className={`result ${answer.status >= 200 && answer.status < 300 ? 'ok' : 'bad'}`}
          data-testid="kill-result"
        >
          <p>
            Gateway answered {answer.status}:{' '}
            {answer.status >= 200 && answer.status < 300
              ? `${String(answer.body?.scope)} ${String(answer.body?.state)} by ${String(answer.body?.changedBy)} at ${time(Date.parse(String(answer.body?.changedAt)))}`
              : `${text(answer.body?.code)} ${text(answer.body?.detail)}`}
          </p>
          {answer.status >= 200 && answer.status < 300 && answer.body?.state === 'halted' && (
            <p data-testid="kill-canceled">
              Orders canceled since the halt: {canceledSince(Date.parse(String(answer.body?.changedAt)))} (of the newest
              orders in the blotters)
            </p>
          )}
          <p>Working orders now: {working}</p>
        </div>
      )}
    </section>
  );
}
