import type { CockpitFrame } from '../../../monitor/src/frame.js';
import { duration } from '../format.js';

interface EntryGateRow {
  readonly code: string;
  readonly reason: string;
  readonly since: number;
}

const LABELS: Record<string, string> = {
  trading_halted: 'halted',
  trading_reducing: 'reducing (exits only)',
  lockdown: 'RTT lockdown (exits only)',
  restart_not_reconciled: 'restart not reconciled',
  unknown_orders: 'unknown orders',
  broker_disconnected: 'broker disconnected',
  reauth_required: 'token reauth required',
  otr_ceiling: 'OTR ceiling',
  stale_market_data: 'stale market data',
  position_break: 'position break (reconciliation)',
  blocked: 'entries blocked',
};

/** Symbols listed in the market data gate's reason at most. */
const SYMBOLS_SHOWN = 4;

/**
 * Gates: per account, every reason its entries are refused right now and how long it has held. The
 * gateway's own gates per account, and the market data's: a symbol whose quote is missing, one-sided,
 * crossed or stale refuses entries in it for every account (the `stale market data` gate, from the
 * Market figures).
 */
export function GatesPanel({ frame }: { frame: CockpitFrame }) {
  const vetoed = frame.market.filter((m) => typeof m.dataVetoSince === 'number');
  const marketGate: EntryGateRow | null =
    vetoed.length === 0
      ? null
      : {
          code: 'stale_market_data',
          reason:
            `entries refused in ${vetoed
              .slice(0, SYMBOLS_SHOWN)
              .map((m) => `${m.symbol} (${m.vetoReason ?? 'veto'})`)
              .join(', ')}` + (vetoed.length > SYMBOLS_SHOWN ? ` and ${vetoed.length - SYMBOLS_SHOWN} more` : ''),
          since: Math.min(...vetoed.map((m) => m.dataVetoSince ?? frame.at)),
        };
  const accounts = (frame.state?.accounts ?? []).map((a) => ({
    ...a,
    gates: marketGate ? [...a.gates, marketGate] : a.gates,
  }));
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
