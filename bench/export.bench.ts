/**
 * What the event export costs the order path: `POST /v1/accounts/{id}/orders` (8 connections, resting
 * limits, as `bench -- cockpit`) against the gateway started in-process, alternating phases with the
 * export off and on (the relay running in the same process, publishing to the NATS at NATS_URL, default
 * 127.0.0.1:4222, a stream of this run's own), in the same run, each round running both and alternating
 * which goes first. Prints each phase, then accept p50/p99 and orders/s off and on and their ratio
 * (target: p50 within +10 %), and how many events the relay published.
 * `npm run bench -- export [secondsPerPhase=8] [repeats=4]`
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'nats';
import { Registry } from 'prom-client';
import { EventExportRelay } from '../apps/gateway/src/export/event-export.relay.js';
import { type OrderLoad, placeOrdersFor, withBenchGateway } from './bench-gateway.js';

const CONNECTIONS = 8;

export async function runExportBench(seconds = 8, repeats = 4): Promise<void> {
  const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  const stream = `GATEWAY_BENCH_${randomBytes(4).toString('hex')}`;
  // A stream left by an interrupted run holds the same subjects: JetStream refuses a second one.
  const admin = await connect({ servers: natsUrl });
  const jsm = await admin.jetstreamManager();
  for await (const name of jsm.streams.names()) {
    if (name.startsWith('GATEWAY_BENCH_')) {
      await jsm.streams.delete(name);
    }
  }
  await admin.close();
  await withBenchGateway(
    { RISK_MAX_ORDER_QUANTITY: '1000000000', RISK_MAX_ORDER_NOTIONAL: '1000000000000', LOCKDOWN_RTT_MS: 'off' },
    async (gateway, token) => {
      let published = 0;
      const options = {
        databaseUrl: gateway.config.databaseUrl,
        natsUrl,
        stream,
        controlStream: `${stream}_CONTROL`,
        duplicateWindowMs: 120_000,
        pollMs: 100,
        lagAlertMs: 60_000,
      };
      let relay: EventExportRelay | null = null;
      const load = () => placeOrdersFor(gateway, token, CONNECTIONS, seconds);
      await load(); // warm-up, not counted
      const phases: (OrderLoad & { on: boolean })[] = [];
      for (let r = 0; r < repeats; r++) {
        for (const on of r % 2 === 0 ? [false, true] : [true, false]) {
          const registry = new Registry();
          if (on) {
            relay = new EventExportRelay(gateway.dataSource, options, gateway.logger, registry);
            relay.start();
          }
          const figures = await load();
          if (relay) {
            await relay.stop();
            relay = null;
            const counter = await registry.getSingleMetric('gateway_event_export_published_total')?.get();
            published += counter?.values[0]?.value ?? 0;
          }
          phases.push({ on, ...figures });
          console.log(
            `  export ${on ? 'on ' : 'off'}: ${(figures.ok / seconds).toFixed(0)} orders/s, ` +
              `accept p50 ${figures.p50} ms, p99 ${figures.p99} ms`,
          );
        }
      }
      const summary = (on: boolean) => {
        const of = phases.filter((p) => p.on === on);
        const mean = (f: (p: OrderLoad) => number) => of.reduce((s, p) => s + f(p), 0) / of.length;
        return { rate: mean((p) => p.ok / seconds), p50: mean((p) => p.p50), p99: mean((p) => p.p99) };
      };
      const off = summary(false);
      const on = summary(true);
      const ratio = (a: number, b: number) => (b === 0 ? 'n/a' : (a / b).toFixed(3));
      console.log(
        `export bench (${CONNECTIONS} connections, ${repeats} × ${seconds} s per phase), mean over phases:\n` +
          `  export off: ${off.rate.toFixed(0)} orders/s, accept p50 ${off.p50.toFixed(1)} ms, p99 ${off.p99.toFixed(1)} ms\n` +
          `  export on:  ${on.rate.toFixed(0)} orders/s, accept p50 ${on.p50.toFixed(1)} ms, p99 ${on.p99.toFixed(1)} ms\n` +
          `  ratio (on / off): throughput ${ratio(on.rate, off.rate)}, p50 ${ratio(on.p50, off.p50)}, ` +
          `p99 ${ratio(on.p99, off.p99)} (target: p50 at most 1.10)\n` +
          `  events published while on: ${published}`,
      );
      const nc = await connect({ servers: natsUrl });
      const manager = await nc.jetstreamManager();
      await manager.streams.delete(stream).catch(() => undefined);
      await manager.streams.delete(`${stream}_CONTROL`).catch(() => undefined);
      await nc.close();
    },
  );
}
