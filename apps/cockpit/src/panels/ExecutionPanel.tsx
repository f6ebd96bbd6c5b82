import type { CockpitFrame } from '../../../monitor/src/frame.js';
import { Chart } from '../Chart.js';
import { percent } from '../format.js';
import type { History } from '../history.js';

/**
 * Execution, per account (at its one venue, the account's broker) over its newest orders of the last 60 s: fill rate (orders with a fill / orders
 * sent), cancel rate (canceled or expired / orders sent), the order-to-trade ratio of the trading day
 * against its ceiling, orders per second (last 10 s) and working orders. Denied orders never reached a
 * broker and are not counted.
 */
export function ExecutionPanel({ frame, history }: { frame: CockpitFrame; history: History }) {
  const series = history.data('exec:');
  return (
    <section className="panel execution" data-testid="panel-execution">
      <h2>Execution</h2>
      <table className="figures">
        <thead>
          <tr>
            <th>account</th>
            <th>venue</th>
            <th>orders (60 s)</th>
            <th>fill rate</th>
            <th>cancel rate</th>
            <th>OTR / ceiling</th>
            <th>orders/s</th>
            <th>working</th>
            <th title="Σ side × (mid at intent − fill price) × quantity × multiplier">net EV of fills</th>
          </tr>
        </thead>
        <tbody>
          {(frame.state?.accounts ?? []).map((a) => (
            <tr key={a.id} data-testid={`execution-${a.id}`}>
              <td>{a.name}</td>
              <td data-testid="execution-venue">{a.broker}</td>
              <td data-testid="execution-orders">{a.execution.orders}</td>
              <td data-testid="execution-fill-rate">{percent(a.execution.fillRate)}</td>
              <td data-testid="execution-cancel-rate">{percent(a.execution.cancelRate)}</td>
              <td>
                {a.execution.orderToTrade
                  ? `${a.execution.orderToTrade.ratio} / ${a.execution.orderToTrade.ceiling ?? 'none'}`
                  : '–'}
              </td>
              <td data-testid="execution-rate">{a.execution.ordersPerSecond.toFixed(1)}</td>
              <td data-testid="execution-working">{a.execution.working}</td>
              <td data-testid="execution-ev">
                {a.execution.netExpectedValue ?? '–'}
                {(a.execution.filledUnvalued ?? 0) > 0 && ` (${a.execution.filledUnvalued} without a mid)`}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Chart
        title="Orders per second and working orders (all accounts)"
        unit="n"
        names={series.names.map((n) => n.slice('exec:'.length))}
        data={series.data}
        testId="chart-execution"
      />
      <p className="help">
        Net EV of fills: over the filled orders of the last 60 s, Σ side × (mid at intent − average fill price) × filled
        quantity × contract multiplier, side +1 for a buy and −1 for a sell, in the account&apos;s currency; positive
        when the fills were better than the mid when the order was placed (bought under it, sold over it). The mid at
        intent is (bid + ask) / 2 of the quote the pre-trade risk check used, recorded with the order; orders placed
        without a two-sided quote are left out and counted beside the figure.
      </p>
    </section>
  );
}
