import { cpus } from 'node:os';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/** How often the gauges are refreshed: each reading covers the last interval. */
export const PROCESS_LOAD_INTERVAL_MS = 1_000;

interface CoreTimes {
  readonly busy: number;
  readonly total: number;
}

const coreTimes = (): CoreTimes[] =>
  cpus().map(({ times }) => {
    const busy = times.user + times.nice + times.sys + times.irq;
    return { busy, total: busy + times.idle };
  });

/**
 * The process's load, refreshed every second by an unref'd timer (never on the order path):
 * - `gateway_event_loop_delay_seconds{quantile}`: the event-loop delay over the last second
 *   (`perf_hooks.monitorEventLoopDelay`, 1 ms resolution; quantiles `0.5`, `0.99`, `1` = the maximum);
 * - `gateway_process_cpu_ratio`: CPU time the process used over the last second per second of wall time
 *   (`process.cpuUsage`, user + system; 1 = one core busy, up to the number of cores);
 * - `gateway_host_cpu_core_ratio{core}`: each core of the host, busy time over the last second (`os.cpus`);
 * - `gateway_host_cpu_cores`: the number of cores.
 * prom-client's default `nodejs_eventloop_lag_*` and `process_cpu_seconds_total` stay beside them.
 */
export class ProcessLoadGauges {
  private readonly delay: IntervalHistogram = monitorEventLoopDelay({ resolution: 1 });
  private readonly timer: NodeJS.Timeout;
  private lastCpu = process.cpuUsage();
  private lastAt = process.hrtime.bigint();
  private lastCores = coreTimes();
  private readonly loopDelay: Gauge;
  private readonly processCpu: Gauge;
  private readonly coreCpu: Gauge;

  constructor(registry: Registry) {
    this.loopDelay = new Gauge({
      name: 'gateway_event_loop_delay_seconds',
      help: 'Event-loop delay over the last second (monitorEventLoopDelay), by quantile (1 = the maximum)',
      labelNames: ['quantile'],
      registers: [registry],
    });
    this.processCpu = new Gauge({
      name: 'gateway_process_cpu_ratio',
      help: 'CPU time of this process over the last second per second (1 = one core busy)',
      registers: [registry],
    });
    this.coreCpu = new Gauge({
      name: 'gateway_host_cpu_core_ratio',
      help: 'Busy share of each core of the host over the last second',
      labelNames: ['core'],
      registers: [registry],
    });
    new Gauge({
      name: 'gateway_host_cpu_cores',
      help: 'Cores of the host',
      registers: [registry],
    }).set(this.lastCores.length);
    this.delay.enable();
    this.timer = setInterval(() => this.sample(), PROCESS_LOAD_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.delay.disable();
  }

  private sample(): void {
    const delay = this.delay;
    if (delay.count > 0) {
      this.loopDelay.set({ quantile: '0.5' }, delay.percentile(50) / 1e9);
      this.loopDelay.set({ quantile: '0.99' }, delay.percentile(99) / 1e9);
      this.loopDelay.set({ quantile: '1' }, delay.max / 1e9);
    }
    delay.reset();
    const now = process.hrtime.bigint();
    const wallMicros = Number(now - this.lastAt) / 1e3;
    const cpu = process.cpuUsage(this.lastCpu);
    if (wallMicros > 0) {
      this.processCpu.set((cpu.user + cpu.system) / wallMicros);
    }
    this.lastCpu = process.cpuUsage();
    this.lastAt = now;
    const cores = coreTimes();
    cores.forEach((core, i) => {
      const before = this.lastCores[i];
      const total = before ? core.total - before.total : 0;
      if (before && total > 0) {
        this.coreCpu.set({ core: String(i) }, (core.busy - before.busy) / total);
      }
    });
    this.lastCores = cores;
  }
}
