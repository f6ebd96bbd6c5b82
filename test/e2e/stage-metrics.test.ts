import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORDER_STAGES } from '../../apps/gateway/src/health/metrics.js';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { orderWhen } from '../support/e2e.js';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.js';
import { Api } from '../support/http.js';
import { D } from '../support/market-data.js';
import { StreamClient } from '../support/stream-client.js';

/**
 * The latency stages of the order path (`gateway_order_stage_seconds`, README "Latency stages"), read from
 * the built gateway's `/metrics` before and after each step: a placed order adds exactly one observation
 * to each of its stages, and the stages that follow one another add up to no more than the time the
 * client measured around the request.
 */
let db: TestDatabase;
let gw: GatewayProcess;
let api: Api;
let accountId: string;
let bid: D;
let ask: D;

interface Stage {
  count: number;
  sum: number;
}
type Stages = Map<string, Stage>;

/** `stage` or `stage@venue` → its count and sum, from the Prometheus text of `/metrics`. */
async function stages(): Promise<Stages> {
  const res = await fetch(`${gw.url}/metrics`);
  expect(res.status).toBe(200);
  const out: Stages = new Map();
  for (const line of (await res.text()).split('\n')) {
    const m = /^gateway_order_stage_seconds_(count|sum)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) {
      continue;
    }
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    const key = labels.venue ? `${labels.stage}@${labels.venue}` : labels.stage!;
    const stage = out.get(key) ?? { count: 0, sum: 0 };
    stage[m[1] as 'count' | 'sum'] = Number(m[3]);
    out.set(key, stage);
  }
  return out;
}

/** What happened between two readings: per stage, the observations added and their seconds. */
function delta(before: Stages, after: Stages): Map<string, Stage> {
  const out = new Map<string, Stage>();
  for (const [key, a] of after) {
    const b = before.get(key) ?? { count: 0, sum: 0 };
    if (a.count !== b.count) {
      out.set(key, { count: a.count - b.count, sum: a.sum - b.sum });
    }
  }
  return out;
}

const ORDERS = () => `/v1/accounts/${accountId}/orders`;
const passive = (clientOrderId: string) => ({
  clientOrderId,
  symbol: 'SPY',
  side: 'buy',
  quantity: '10',
  type: 'limit',
  limitPrice: bid.minus('0.50').toFixed(2),
});

/** Sequential stages of a place (README): each starts after the one before it ended. */
const PLACE_SEQUENCE = [
  'validation',
  'intent_transaction',
  'intent_publish',
  'broker_submit@paper',
  'answer_transaction',
  'answer_publish',
];
const PLACE_STAGES = [
  ...PLACE_SEQUENCE,
  'intent_lock_wait',
  'risk_checks',
  'intent_commit',
  'answer_lock_wait',
  'answer_commit',
].sort();

/** The reading can trail the request by float rounding only: both are monotonic clocks of one machine. */
const TOLERANCE_S = 0.001;

beforeAll(async () => {
  db = await createTestDatabase();
  gw = await startGatewayProcess({ DATABASE_URL: db.url, REDIS_PREFIX: redisPrefix() });
  api = new Api(gw.url, gw.traderToken);
  accountId = gw.accountId;
  const quote = (await api.get('/v1/quotes/SPY')).body;
  bid = new D(quote.bid);
  ask = new D(quote.ask);
});
afterAll(async () => {
  await gw?.stop();
  await db?.drop();
});

describe('gateway_order_stage_seconds', () => {
  it('a placed order adds one observation to each of its stages, summing to no more than the request took', async () => {
    // The first order warms the path up (connections, JIT): measured from the second on.
    expect((await api.post(ORDERS(), passive('warm-up'))).status).toBe(201);
    for (let i = 0; i < 5; i += 1) {
      const before = await stages();
      const started = performance.now();
      const res = await api.post(ORDERS(), passive(`stages-${i}`));
      const endToEnd = (performance.now() - started) / 1000;
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.status).toBe('new');
      const added = delta(before, await stages());
      // Only the place's stages moved (a resting order at a paused venue gets no report beyond its ack,
      // which the answer recorded first or which changes nothing).
      const placeOnly = [...added.keys()].filter((k) => !k.startsWith('report_')).sort();
      expect(placeOnly).toEqual(PLACE_STAGES);
      for (const key of PLACE_STAGES) {
        expect(added.get(key), key).toMatchObject({ count: 1 });
        expect(added.get(key)!.sum, key).toBeGreaterThan(0);
      }
      const seconds = (key: string) => added.get(key)!.sum;
      const sequential = PLACE_SEQUENCE.reduce((total, key) => total + seconds(key), 0);
      expect(sequential, `stages ${sequential}s against ${endToEnd}s end to end`).toBeLessThanOrEqual(
        endToEnd + TOLERANCE_S,
      );
      // The parts of a transaction fit inside it.
      expect(seconds('intent_lock_wait') + seconds('risk_checks') + seconds('intent_commit')).toBeLessThanOrEqual(
        seconds('intent_transaction') + 1e-6,
      );
      expect(seconds('answer_lock_wait') + seconds('answer_commit')).toBeLessThanOrEqual(
        seconds('answer_transaction') + 1e-6,
      );
    }
  });

  it('times the round trip of every cancel and replace, and a report from arrival to the stream', async () => {
    const working = await api.post(ORDERS(), passive('to-replace'));
    expect(working.status).toBe(201);
    let before = await stages();
    const replaced = await api.patch(`${ORDERS()}/${working.body.id}`, {
      clientOrderId: 'replacement',
      quantity: '12',
    });
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(202);
    let added = delta(before, await stages());
    expect(added.get('broker_replace@paper')).toMatchObject({ count: 1 });
    expect(added.get('intent_transaction')).toMatchObject({ count: 1 });
    expect(added.has('broker_submit@paper')).toBe(false);

    before = await stages();
    const canceled = await api.delete(`${ORDERS()}/${replaced.body.id}`);
    expect(canceled.status, JSON.stringify(canceled.body)).toBe(202);
    added = delta(before, await stages());
    expect(added.get('broker_cancel@paper')).toMatchObject({ count: 1 });

    // A marketable order fills on the venue's report; a stream subscriber receives the fill.
    const stream = await StreamClient.connect(gw.url);
    stream.send({ op: 'auth', token: gw.traderToken });
    await stream.waitFor((m) => m.type === 'authenticated');
    stream.send({ op: 'subscribe', channel: 'orders', accountId });
    await stream.waitFor((m) => m.type === 'subscribed');
    before = await stages();
    const fill = await api.post(ORDERS(), { ...passive('marketable'), limitPrice: ask.plus('0.05').toFixed(2) });
    expect(fill.status).toBe(201);
    await orderWhen(api, accountId, fill.body.id, (o) => o.status === 'filled');
    await stream.waitFor((m) => m.type === 'order' && m.order.id === fill.body.id && m.event === 'filled');
    added = delta(before, await stages());
    stream.socket.close();
    const applied = added.get('report_applied');
    expect(applied?.count, 'the fill report at least').toBeGreaterThanOrEqual(1);
    for (const key of [
      'report_delivered',
      'report_lock_wait',
      'report_commit',
      'report_transaction',
      'report_publish',
    ]) {
      expect(added.get(key)?.count, key).toBe(applied!.count);
    }
    // Delivered comes after applied, for each report.
    expect(added.get('report_delivered')!.sum).toBeGreaterThanOrEqual(applied!.sum);

    // Every stage is on /metrics.
    const all = await stages();
    const names = new Set([...all.keys()].map((k) => k.split('@')[0]));
    expect([...ORDER_STAGES].filter((s) => !names.has(s))).toEqual([]);
  });

  it('shows the event-loop delay and the CPU of the process and of each core', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // one refresh of the gauges
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(text).toMatch(/^gateway_event_loop_delay_seconds\{quantile="0\.99"[^}]*\} [\d.e-]+$/m);
    expect(text).toMatch(/^gateway_process_cpu_ratio\{[^}]*\} [\d.e-]+$/m);
    expect(text).toMatch(/^gateway_host_cpu_core_ratio\{core="0"[^}]*\} [\d.e-]+$/m);
    expect(text).toMatch(/^gateway_host_cpu_cores\{[^}]*\} [1-9]\d*$/m);
  });
});
