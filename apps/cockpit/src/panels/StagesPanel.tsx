import type { CockpitFrame, LatencyFigures } from '../../../monitor/src/frame.js';
import { Chart } from '../Chart.js';
import { ms } from '../format.js';
import type { History } from '../history.js';

/** The order path's stage histogram (docs/latency-stages.md). */
export const STAGE_HISTOGRAM = 'gateway_order_stage_seconds';

/** Where a stage sits on the order path, for the table's order: intent, broker, answer, report. */
const PATH = ['validation', 'intent_lock_wait', 'risk_checks', 'intent_', 'broker_', 'answer_', 'report_'];
const rank = (stage: string) => {
  const i = PATH.findIndex((p) => (p.endsWith('_') ? stage.startsWith(p) : stage === p));
  return i < 0 ? PATH.length : i;
};

/** The stage figures of a frame, in path order (then by name and venue). */
export function stageFigures(frame: CockpitFrame): LatencyFigures[] {
  const label = (h: LatencyFigures) => `${h.labels.stage ?? ''} ${h.labels.venue ?? ''}`;
  return frame.histograms
    .filter((h) => h.name === STAGE_HISTOGRAM && h.count > 0)
    .sort((a, b) => rank(a.labels.stage ?? '') - rank(b.labels.stage ?? '') || label(a).localeCompare(label(b)));
}

/**
 * Stage latency: each order stage's p50 and p99 over the monitor's 5 s window, all instances, from the
 * `gateway_order_stage_seconds` observations the snapshots carry (estimated inside the histogram's buckets
 * as Prometheus' `histogram_quantile` does, so a figure is as fine as the bucket it falls in).
 */
export function StagesPanel({ frame, history }: { frame: CockpitFrame; history: History }) {
  const stages = stageFigures(frame);
  const series = history.data('stage:');
  return (
    <section className="panel stages" data-testid="panel-stages">
      <h2>Stage latency</h2>
      <table className="figures">
        <thead>
          <tr>
            <th>stage</th>
            <th>venue</th>
            <th>p50</th>
            <th>p99</th>
            <th>mean</th>
            <th>count (5 s)</th>
          </tr>
        </thead>
        <tbody>
          {stages.length === 0 && (
            <tr>
              <td colSpan={6}>no order stage in the last 5 s</td>
            </tr>
          )}
          {stages.map((h) => {
            const stage = h.labels.stage ?? '?';
            const venue = h.labels.venue ?? '';
            return (
              <tr key={`${stage}|${venue}`} data-testid={`stage-${stage}${venue ? `-${venue}` : ''}`}>
                <td>{stage}</td>
                <td>{venue || '–'}</td>
                <td>{ms(h.p50Ms, 3)}</td>
                <td>{ms(h.p99Ms, 3)}</td>
                <td>{ms(h.meanMs, 3)}</td>
                <td>{h.count}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <Chart
        title="p99 per stage"
        unit="ms"
        names={series.names.map((n) => n.slice('stage:'.length))}
        data={series.data}
        testId="chart-stages"
      />
      <p className="help">
        Quantiles are estimated inside the stage histogram&apos;s buckets (25 µs to 10 s, about three per decade) over
        the observations of the last 5 s, summed over the instances; a stage without an observation in that window is
        not listed.
      </p>
    </section>
  );
}
