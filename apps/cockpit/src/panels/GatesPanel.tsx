import type { CockpitFrame } from '../../../monitor/src/frame.js';
import { duration } from '../format.js';

const LABELS: Record<string, string> = {
  trading_halted: 'halted',
  trading_reducing: 'reducing (exits only)',
  lockdown: 'RTT lockdown (exits only)',
  restart_not_reconciled: 'restart not reconciled',
  unknown_orders: 'unknown orders',
  broker_disconnected: 'broker disconnected',
  reauth_required: 'token reauth required',
  otr_ceiling: 'OTR ceiling',
  blocked: 'entries blocked',
};

/** Gates: per account, every reason its entries are refused right now and how long it has held. */
export function GatesPanel({ frame }: { frame: CockpitFrame }) {
  const accounts = frame.state?.accounts ?? [];
  return (
    <section className="panel gates" data-testid="panel-gates">
      <h2>Gates</h2>
      <table className="figures">
        <thead>
          <tr>
            <th>account</th>
            <th>entries</th>
            <th>why blocked</th>
            <th>for</th>
          </tr>
        </thead>
        <tbody>
          {accounts.map((a) =>
            a.gates.length === 0 ? (
              <tr key={a.id} data-testid={`gates-${a.id}`}>
                <td>{a.name}</td>
                <td className="ok">open</td>
                <td>–</td>
                <td>–</td>
              </tr>
            ) : (
              a.gates.map((g, n) => (
                <tr key={`${a.id}-${g.code}-${n}`} data-testid={`gates-${a.id}`} className="blocked">
                  <td>{n === 0 ? a.name : ''}</td>
                  <td className="bad">{LABELS[g.code] ?? g.code}</td>
                  <td>{g.reason}</td>
                  <td>{duration(frame.at - g.since)}</td>
                </tr>
              ))
            ),
          )}
        </tbody>
      </table>
    </section>
  );
}
