import type { CockpitFrame } from '../../../monitor/src/frame.js';
import { duration, time } from '../format.js';
import { type AuditEntry, type ReconciliationPass, useAuditTail, useReconciliation } from '../gateway-reads.js';

/** Roles whose tokens may read the audit log (the gateway also wants the `*` account grant). */
const AUDIT_ROLES = ['admin'];

/** An account's reconciliation: the newest pass's outcome and its breaks not yet resolved. */
function Reconciliation({ accountId, token }: { accountId: string; token: string }) {
  const passes = useReconciliation(accountId, token);
  const body = (p: ReconciliationPass[] | string | null) => {
    if (p === null) {
      return 'reading…';
    }
    if (typeof p === 'string') {
      return `not readable (${p})`;
    }
    const last = p[0];
    if (!last) {
      return 'no pass yet';
    }
    const open = last.breaks.filter((b) => b.status !== 'resolved');
    return (
      <>
        {last.outcome} at {time(Date.parse(last.finishedAt ?? last.startedAt))}
        {open.length > 0 && (
          <ul>
            {open.map((b) => (
              <li key={b.id} data-testid="reconciliation-break">
                {b.kind} {b.symbol ?? ''}: ours {JSON.stringify(b.ours)}, broker {JSON.stringify(b.broker)} ({b.status})
              </li>
            ))}
          </ul>
        )}
      </>
    );
  };
  return <div data-testid={`reconciliation-${accountId}`}>Reconciliation: {body(passes)}</div>;
}

function AuditTail({ entries }: { entries: AuditEntry[] | string | null }) {
  if (entries === null || typeof entries === 'string') {
    return <p data-testid="audit-tail">Audit log: {entries === null ? 'reading…' : `not readable (${entries})`}</p>;
  }
  return (
    <table className="figures" data-testid="audit-tail">
      <thead>
        <tr>
          <th>seq</th>
          <th>at</th>
          <th>who</th>
          <th>request</th>
          <th>action</th>
          <th>status</th>
        </tr>
      </thead>
      <tbody>
        {entries.map((e) => (
          <tr key={e.seq}>
            <td>{e.seq}</td>
            <td>{e.at.slice(11, 23)}</td>
            <td>{e.subject ?? '–'}</td>
            <td>
              {e.method} {e.route}
            </td>
            <td>{e.action ?? '–'}</td>
            <td>{e.status ?? '–'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * Accounts: positions, the newest orders, the broker connection (token expiry countdown), the
 * reconciliation passes' breaks (GET /v1/accounts/{id}/reconciliation), the job queues and, for tokens
 * with a role that may read it, the audit tail (GET /v1/audit): both read through the monitor with the
 * operator's own token every 5 s.
 */
export function AccountsPanel({
  frame,
  token,
  roles,
}: {
  frame: CockpitFrame;
  token: string;
  roles: readonly string[];
}) {
  const canAudit = roles.some((r) => AUDIT_ROLES.includes(r));
  const audit = useAuditTail(token, canAudit);
  const accounts = frame.state?.accounts ?? [];
  const jobs = frame.state?.jobs;
  return (
    <section className="panel accounts" data-testid="panel-accounts">
      <h2>Accounts</h2>
      {accounts.map((a) => (
        <article key={a.id} data-testid={`account-${a.id}`}>
          <h3>
            {a.name}{' '}
            <small>
              ({a.broker}, {a.environment})
            </small>
          </h3>
          <p data-testid="broker-connection">
            Broker connection:{' '}
            {a.connection
              ? `${a.connection.status}${a.connection.accessExpiresAt ? `, access token expires in ${duration(a.connection.accessExpiresAt - frame.at)}` : ''}${a.connection.refreshExpiresAt ? `, refresh token in ${duration(a.connection.refreshExpiresAt - frame.at)}` : ''}`
              : frame.brokers.some((b) => b.broker === a.broker && !b.connected)
                ? 'disconnected'
                : 'connected (no OAuth token)'}
          </p>
          <Reconciliation accountId={a.id} token={token} />
          <table className="figures">
            <thead>
              <tr>
                <th>position</th>
                <th>quantity</th>
                <th>average price</th>
                <th>realized P&amp;L</th>
                <th title="at the mid (else last) of a fresh quote">unrealized P&amp;L</th>
              </tr>
            </thead>
            <tbody>
              {a.positions.length === 0 && (
                <tr>
                  <td colSpan={5}>none</td>
                </tr>
              )}
              {a.positions.map((p) => (
                <tr key={p.symbol}>
                  <td>{p.symbol}</td>
                  <td>{p.quantity}</td>
                  <td>{p.averagePrice}</td>
                  <td>{p.realizedPnl}</td>
                  <td data-testid={`unrealized-${p.symbol}`}>{p.unrealizedPnl ?? '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <table className="figures blotter" data-testid="blotter">
            <thead>
              <tr>
                <th>created</th>
                <th>client order id</th>
                <th>order</th>
                <th>filled</th>
                <th>status</th>
                <th>timeline</th>
              </tr>
            </thead>
            <tbody>
              {a.recentOrders.map((o) => (
                <tr key={o.id}>
                  <td>{time(o.createdAt).slice(11)}</td>
                  <td>{o.clientOrderId}</td>
                  <td>
                    {o.side} {o.quantity} {o.symbol} {o.type}
                    {o.limitPrice ? ` @ ${o.limitPrice}` : ''}
                  </td>
                  <td>{o.filledQuantity}</td>
                  <td className={`order ${o.status}`}>{o.status}</td>
                  <td className="timeline" data-testid="order-timeline">
                    {(o.timeline ?? [])
                      .map((t, n, all) => (n === 0 ? t.status : ` → ${t.status} +${t.at - all[0]!.at} ms`))
                      .join('')}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </article>
      ))}
      <h3>Job queues</h3>
      {jobs === null || jobs === undefined ? (
        <p className="bad">Redis does not answer: queue counts unknown.</p>
      ) : (
        <table className="figures" data-testid="jobs">
          <thead>
            <tr>
              <th>queue</th>
              <th>waiting</th>
              <th>active</th>
              <th>delayed</th>
              <th>failed</th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((q) => (
              <tr key={q.name}>
                <td>{q.name}</td>
                <td>{q.waiting}</td>
                <td>{q.active}</td>
                <td>{q.delayed}</td>
                <td className={q.failed > 0 ? 'bad' : ''}>{q.failed}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {canAudit ? (
        <AuditTail entries={audit} />
      ) : (
        <p data-testid="audit-unavailable">Audit log: for admin tokens only.</p>
      )}
    </section>
  );
}
