import { cpus } from 'node:os';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { ProcessFigures } from './snapshot.js';

const NS_PER_MS = 1e6;
/** The sampling timer's period, ms: the histogram records each period's length, so it is taken off. */
const RESOLUTION_MS = 10;
const round = (n: number, places = 2): number => Math.round(n * 10 ** places) / 10 ** places;

/** The delay past the timer's period, in ms (the histogram holds each period's full length, ns). */
const delayMs = (ns: number): number => round(Math.max(0, ns / NS_PER_MS - RESOLUTION_MS));

/**
 * Event-loop delay (perf_hooks `monitorEventLoopDelay`, 10 ms resolution, the period taken off), this process's CPU
 * (`process.cpuUsage`) and the machine's per-core load (`os.cpus()`), each over the interval since the
 * previous `sample()`. Sampling reads counters the runtime keeps anyway; nothing here waits.
 */
export class ProcessSampler {
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private lastCpu = process.cpuUsage();
  private lastAt = process.hrtime.bigint();
  private lastCores = cpus().map((c) => c.times);

  start(): void {
    this.loop.enable();
  }

  stop(): void {
    this.loop.disable();
  }

  sample(): ProcessFigures {
    const now = process.hrtime.bigint();
    const elapsedUs = Number(now - this.lastAt) / 1_000;
    const cpu = process.cpuUsage(this.lastCpu);
    this.lastCpu = process.cpuUsage();
    this.lastAt = now;
    const cores = cpus().map((c) => c.times);
    const cpuCores = cores.map((t, i) => {
      const before = this.lastCores[i] ?? t;
      const busy = t.user + t.nice + t.sys + t.irq - (before.user + before.nice + before.sys + before.irq);
      const total = busy + (t.idle - before.idle);
      return total > 0 ? round((100 * busy) / total, 1) : 0;
    });
    this.lastCores = cores;
    const count = this.loop.count;
    const eventLoop =
      count > 0
        ? {
            p50Ms: delayMs(this.loop.percentile(50)),
            p99Ms: delayMs(this.loop.percentile(99)),
            maxMs: delayMs(this.loop.max),
          }
        : { p50Ms: 0, p99Ms: 0, maxMs: 0 };
    this.loop.reset();
    const memory = process.memoryUsage();
    return {
      cpuPercent: elapsedUs > 0 ? round((100 * (cpu.user + cpu.system)) / elapsedUs, 1) : 0,
      cpuCores,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      eventLoop,
      uptimeSeconds: Math.round(process.uptime()),
    };
  }
}
