import type { CockpitFrame } from '../../../monitor/src/frame.js';
import { duration, time } from '../format.js';

/** Accounts: positions, the newest orders, the broker connection (token expiry countdown) and the job queues. */
export function AccountsPanel({ frame }: { frame: CockpitFrame }) {
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
          <table className="figures">
            <thead>
              <tr>
                <th>position</th>
                <th>quantity</th>
                <th>average price</th>
                <th>realized P&amp;L</th>
              </tr>
            </thead>
            <tbody>
              {a.positions.length === 0 && (
                <tr>
                  <td colSpan={4}>none</td>
                </tr>
              )}
              {a.positions.map((p) => (
                <tr key={p.symbol}>
                  <td>{p.symbol}</td>
                  <td>{p.quantity}</td>
                  <td>{p.averagePrice}</td>
                  <td>{p.realizedPnl}</td>
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
    </section>
  );
}
