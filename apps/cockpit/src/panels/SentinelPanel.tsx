import type { CockpitFrame } from '../../../monitor/src/frame.js';
import { Chart } from '../Chart.js';
import { duration, ms, time } from '../format.js';
import { type History, shortInstance } from '../history.js';

/** What set a trading state, in words (the snapshot's `source`; older instances send none). */
const SOURCES: Record<string, string> = {
  kill_switch: 'kill switch',
  rearm: 're-arm',
  trading_state: 'risk staff',
  lockdown: 'RTT lockdown',
  order_to_trade_ratio: 'OTR ceiling',
};
const sourceName = (source: string | null | undefined) => (source ? (SOURCES[source] ?? source) : null);

/**
 * Sentinel: the broker round trip per venue over the RTT lockdown's own window (exact p50, p99 and max of
 * the round trips, with the venue's threshold as a line and its lockdown state; where the lockdown is off
 * for every venue, estimated from the submit histogram's buckets over the monitor's 5 s window),
 * event-loop delay and CPU per instance and per core, and the emergency status.
 */
export function SentinelPanel({ frame, history }: { frame: CockpitFrame; history: History }) {
  const rtt = history.data('rtt:');
  const loop = history.data('loop:');
  const cpu = history.data('cpu:');
  const cores = history.data('core:');
  const global = frame.state?.global;
  const rttWindows = frame.rtt ?? [];
  // The kill switch has fired where a halt's source is the kill switch: globally, or on these accounts.
  const killed = [
    ...(global?.state === 'halted' && global.source === 'kill_switch' ? [{ scope: 'globally', ...global }] : []),
    ...(frame.state?.accounts ?? [])
      .filter((a) => a.own.state === 'halted' && a.own.source === 'kill_switch')
      .map((a) => ({ scope: `on ${a.name}`, ...a.own })),
  ];
  const strip = (names: string[], prefix: string) => names.map((n) => n.slice(prefix.length));
  return (
    <section className="panel sentinel" data-testid="panel-sentinel">
      <h2>Sentinel</h2>
      <div className="emergency" data-testid="emergency-status">
        <div className={`state ${global?.state ?? 'unknown'}`} data-testid="global-state">
          Global: <strong>{global?.state ?? '–'}</strong>
          {global && global.state !== 'active' && (
            <span data-testid="global-fired">
              {' '}
              {sourceName(global.source) ?? 'set'} by {global.changedBy ?? '?'} at {time(global.changedAt)} (
              {global.reason})
            </span>
          )}
        </div>
        <div data-testid="kill-switch-status">
          Kill switch:{' '}
          {killed.length === 0 ? (
            <strong className="ok">armed</strong>
          ) : (
            <strong className="bad">
              fired {killed.map((k) => `${k.scope} by ${k.changedBy ?? '?'} at ${time(k.changedAt)}`).join('; ')}
            </strong>
          )}
        </div>
        <ul className="account-states">
          {(frame.state?.accounts ?? []).map((a) => (
            <li key={a.id} className={`state ${a.effective.state}`} data-testid={`account-state-${a.id}`}>
              {a.name}: {a.effective.state}
              {a.own.state !== 'active' && (
                <span data-testid={`account-state-source-${a.id}`}>
                  {' '}
                  ({sourceName(a.own.source) ?? 'set'} by {a.own.changedBy ?? '?'} at {time(a.own.changedAt)}:{' '}
                  {a.own.reason})
                </span>
              )}
            </li>
          ))}
        </ul>
      </div>
      {rttWindows.length > 0 ? (
        <table className="figures">
          <thead>
            <tr>
              <th>venue</th>
              <th>p50</th>
              <th>p99</th>
              <th>max</th>
              <th>round trips</th>
              <th>threshold</th>
              <th>lockdown</th>
            </tr>
          </thead>
          <tbody>
            {rttWindows.map((v) => (
              <tr key={v.venue} className={v.locked ? 'down' : ''} data-testid={`rtt-${v.venue}`}>
                <td>{v.venue}</td>
                <td>{ms(v.p50Ms)}</td>
                <td>{ms(v.p99Ms)}</td>
                <td>{ms(v.maxMs)}</td>
                <td>{v.count}</td>
                <td data-testid={`lockdown-threshold-${v.venue}`}>
                  {v.thresholdMs === null ? 'off' : ms(v.thresholdMs)}
                </td>
                <td data-testid={`lockdown-state-${v.venue}`}>{v.locked ? 'lockdown' : 'clear'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <table className="figures">
          <thead>
            <tr>
              <th>venue</th>
              <th>p50</th>
              <th>p99</th>
              <th>max ≤</th>
              <th>orders (5 s)</th>
            </tr>
          </thead>
          <tbody>
            {frame.venues.length === 0 && (
              <tr>
                <td colSpan={5}>no broker round trip in the last 5 s</td>
              </tr>
            )}
            {frame.venues.map((v) => (
              <tr key={v.labels.venue} data-testid={`rtt-${v.labels.venue}`}>
                <td>{v.labels.venue}</td>
                <td>{ms(v.p50Ms)}</td>
                <td>{ms(v.p99Ms)}</td>
                <td>{ms(v.maxMs)}</td>
                <td>{v.count}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Chart
        title={
          rttWindows.length > 0
            ? 'Broker round trip over the lockdown window, and its threshold'
            : 'Broker round trip (submit → answer)'
        }
        unit="ms"
        names={strip(rtt.names, 'rtt:')}
        data={rtt.data}
        testId="chart-rtt"
      />
      <table className="figures">
        <thead>
          <tr>
            <th>instance</th>
            <th>up</th>
            <th>event loop p99</th>
            <th>max</th>
            <th>CPU</th>
            <th>RSS</th>
            <th>dropped</th>
          </tr>
        </thead>
        <tbody>
          {frame.instances.map((i) => (
            <tr key={i.instance} className={i.up ? '' : 'down'} data-testid="instance-row">
              <td title={i.instance}>{shortInstance(i.instance)}</td>
              <td>{i.up ? `yes (${duration(i.process.uptimeSeconds * 1_000)})` : `no (${duration(i.ageMs)} ago)`}</td>
              <td data-testid="eventloop-p99">{ms(i.process.eventLoop.p99Ms)}</td>
              <td>{ms(i.process.eventLoop.maxMs)}</td>
              <td data-testid="cpu">{i.process.cpuPercent.toFixed(1)} %</td>
              <td>{(i.process.rssBytes / 2 ** 20).toFixed(0)} MiB</td>
              <td>{i.dropped}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="charts-row">
        <Chart
          title="Event-loop delay per instance"
          unit="ms"
          names={strip(loop.names, 'loop:')}
          data={loop.data}
          testId="chart-loop"
        />
        <Chart
          title="CPU per instance (% of a core)"
          unit="%"
          names={strip(cpu.names, 'cpu:')}
          data={cpu.data}
          testId="chart-cpu"
        />
        <Chart
          title="CPU per core (machine)"
          unit="%"
          names={strip(cores.names, 'core:')}
          data={cores.data}
          testId="chart-cores"
        />
      </div>
    </section>
  );
}
