import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountRepository } from '../../apps/gateway/src/accounts/account.repository.js';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { expectProblem, sleep } from '../support/e2e.js';
import { type GatewayProcess, mintToken, startGatewayProcess } from '../support/gateway-process.js';
import { Api, eventually } from '../support/http.js';
import { restingSpyBuy } from '../support/orders.js';
import { type RedisProcess, startRedisProcess } from '../support/redis-process.js';
import { startVenueProxy, type VenueProxy } from '../support/venue-proxy.js';
import { startVenueProcess, type VenueProcess } from '../support/venue-process.js';

/**
 * BullMQ jobs across two gateway instances on one database, one Redis of the test's own (a redis-server on
 * a free port, which the last case stops and starts again) and one paper venue behind a proxy that can make
 * the order listing of a reconciliation pass slow or failing. Each account's pass is a repeatable job
 * every 100 ms; a job whose worker dies is taken over after about 1.5 s (lock 1 s, stalled check 0.5 s).
 * The cases share the processes and run in order: the third kills one instance, the fourth stops Redis for
 * 30 s, the last stops it again and shuts the remaining instance down meanwhile.
 */
const INTERVAL_MS = 100;
const RUNS = 50;
const OUTAGE_MS = 30_000;
/** Far longer than the gateway's bound on closing its job workers: past it, the shutdown hangs. */
const SHUTDOWN_BOUND_MS = 45_000;

let venue: VenueProcess | undefined;
let proxy: VenueProxy | undefined;
let redis: RedisProcess | undefined;
let db: TestDatabase | undefined;
const gateways: GatewayProcess[] = [];
let accountId = '';
let adminToken = '';

interface RunRow {
  id: string;
  instance_id: string;
  job_id: string | null;
  trigger: string;
  started_at: Date;
  finished_at: Date | null;
  outcome: string | null;
}

const runsOf = (account: string): Promise<RunRow[]> =>
  db!.dataSource.query(
    `SELECT id, instance_id, job_id, trigger, started_at, finished_at, outcome
       FROM reconciliation_runs WHERE account_id = $1 ORDER BY started_at, finished_at`,
    [account],
  );
const admin = (g: GatewayProcess) => new Api(g.url, adminToken);
const pidOf = (run: RunRow) => Number(run.instance_id.slice(run.instance_id.lastIndexOf('-') + 1));

beforeAll(async () => {
  venue = await startVenueProcess();
  proxy = await startVenueProxy(venue.url);
  redis = await startRedisProcess();
  db = await createTestDatabase();
  // Made before the gateways start, so that each schedules its pass at start-up.
  accountId = (await new AccountRepository(db.dataSource).ensurePaperAccount('jobs-reconciled')).id;
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    REDIS_PREFIX: redisPrefix(),
    PAPER_VENUE_URL: proxy.url,
    RECONCILE_INTERVAL_MS: String(INTERVAL_MS),
    JOBS_LOCK_DURATION_MS: '1000',
    JOBS_STALLED_INTERVAL_MS: '500',
    LOG_LEVEL: 'warn',
  };
  gateways.push(await startGatewayProcess(env));
  gateways.push(await startGatewayProcess(env));
  adminToken = await mintToken(db.url, ['--sub', 'e2e-jobs-admin', '--role', 'admin', '--account', '*']);
}, 120_000);

afterAll(async () => {
  for (const g of gateways) {
    await g.stop();
  }
  await proxy?.close();
  await venue?.stop();
  await redis?.stop();
  await db?.drop();
});

describe('BullMQ jobs on two gateway instances', () => {
  it('runs an account’s reconciliation on one instance at a time: 50 runs in the job log, none overlapping', async () => {
    // On-demand passes through both instances at once, beside the scheduled ones.
    const onDemand = await Promise.all(
      Array.from({ length: 10 }, (_, i) => admin(gateways[i % 2]!).post(`/v1/accounts/${accountId}/reconcile`)),
    );
    for (const res of onDemand) {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual({ orders: [] });
    }
    const runs = await eventually(
      async () => {
        const finished = (await runsOf(accountId)).filter((r) => r.finished_at !== null);
        return finished.length >= RUNS ? finished : null;
      },
      60_000,
      `${RUNS} reconciliation runs`,
    );
    for (let i = 1; i < runs.length; i++) {
      const [before, after] = [runs[i - 1]!, runs[i]!];
      expect(
        after.started_at.getTime(),
        `run ${after.id} (${after.instance_id}) started before run ${before.id} (${before.instance_id}) finished`,
      ).toBeGreaterThanOrEqual(before.finished_at!.getTime());
    }
    expect(new Set(runs.map((r) => r.trigger))).toEqual(new Set(['scheduled', 'on_demand']));
    expect(new Set(runs.map((r) => r.outcome))).toEqual(new Set(['clean']));
    // Both instances take jobs; the account is still never reconciled twice at once.
    expect(new Set(runs.map((r) => pidOf(r)))).toEqual(new Set(gateways.map((g) => g.child.pid)));
    expect(runs.every((r) => r.job_id !== null)).toBe(true);

    // The same log over REST, newest first.
    const passes = await admin(gateways[1]!).get(`/v1/accounts/${accountId}/reconciliation?limit=5`);
    expect(passes.status, JSON.stringify(passes.body)).toBe(200);
    expect(passes.body.passes).toHaveLength(5);
    const [newest, older] = passes.body.passes;
    expect(Date.parse(newest.startedAt)).toBeGreaterThanOrEqual(Date.parse(older.startedAt));
    expect(passes.body.passes.find((p: { outcome: string | null }) => p.outcome === 'clean')).toMatchObject({
      breaks: [],
      corrections: 0,
      unresolved: 0,
    });
    expectProblem(
      await admin(gateways[1]!).get(`/v1/accounts/${accountId}/reconciliation?limit=0`),
      422,
      'validation.failed',
    );
  });

  it('shows a failed reconciliation with its reason in GET /v1/ops/jobs, without secrets', async () => {
    proxy!.mode = 'down';
    try {
      const res = await admin(gateways[0]!).post(`/v1/accounts/${accountId}/reconcile`);
      expectProblem(res, 503, 'service.unavailable');
    } finally {
      proxy!.mode = 'pass';
    }
    const jobs = await admin(gateways[1]!).get('/v1/ops/jobs');
    expect(jobs.status, JSON.stringify(jobs.body)).toBe(200);
    expect(jobs.body.queues.map((q: { name: string }) => q.name)).toEqual([
      'reconciliation',
      'token-refresh',
      'key-rotation',
    ]);
    const queue = jobs.body.queues[0];
    expect(queue.failed).toBeGreaterThanOrEqual(1);
    expect(queue.lastFailures.length).toBeGreaterThanOrEqual(1);
    const failure = queue.lastFailures[0];
    expect(failure.reason).toMatch(/503|unavailable|maintenance/i);
    expect(Date.parse(failure.at)).toBeGreaterThan(Date.now() - 60_000);
    expect(JSON.stringify(jobs.body)).not.toContain(adminToken);
    for (const key of ['waiting', 'active', 'delayed', 'failed']) {
      expect(Number.isInteger(queue[key])).toBe(true);
    }
    // The failed pass is in the job log too.
    expect((await runsOf(accountId)).some((r) => r.outcome === 'failed')).toBe(true);
    // Not for a trader.
    expectProblem(await new Api(gateways[0]!.url, gateways[0]!.traderToken).get('/v1/ops/jobs'), 403, 'auth.forbidden');
  });

  it('hands the job of an instance killed mid-run (SIGKILL) to the other instance', async () => {
    proxy!.slowMs = 3_000;
    proxy!.mode = 'slow';
    // A run that started before the proxy turned slow may be about to finish: only a later one is taken.
    const slowSince = Date.now();
    let killed: GatewayProcess;
    let victim: RunRow;
    try {
      victim = await eventually(
        async () =>
          (await runsOf(accountId)).find(
            (r) =>
              r.finished_at === null &&
              r.job_id !== null &&
              r.started_at.getTime() > Math.max(slowSince, Date.now() - 1_000),
          ),
        20_000,
        'a reconciliation run in progress',
      );
      killed = gateways.find((g) => g.child.pid === pidOf(victim))!;
      expect(killed, `no gateway has pid ${pidOf(victim)}`).toBeDefined();
      await killed.stop('SIGKILL');
    } finally {
      proxy!.mode = 'pass';
    }
    gateways.splice(gateways.indexOf(killed), 1);
    const survivor = gateways[0]!;
    const takenOver = await eventually(
      async () =>
        (await runsOf(accountId)).find((r) => r.job_id === victim.job_id && r.id !== victim.id && r.outcome !== null),
      20_000,
      `job ${victim.job_id} run again by the other instance`,
    );
    expect(pidOf(takenOver)).toBe(survivor.child.pid);
    expect(takenOver.outcome).toBe('clean');
    // The killed run stays in the log unfinished; the passes go on on the survivor.
    expect((await runsOf(accountId)).find((r) => r.id === victim.id)?.finished_at).toBeNull();
    const after = takenOver.finished_at!.getTime();
    await eventually(
      async () => (await runsOf(accountId)).filter((r) => r.started_at.getTime() > after && r.outcome).length >= 3,
      10_000,
      'passes after the takeover',
    );
  });

  it('keeps taking orders with Redis stopped for 30 s, then runs the jobs due meanwhile and recovers without a restart', async () => {
    const gateway = gateways[0]!;
    const trader = new Api(gateway.url, gateway.traderToken);
    const placed: string[] = [];
    const place = async () => {
      const clientOrderId = `redis-down-${placed.length}`;
      const res = await trader.post(`/v1/accounts/${gateway.accountId}/orders`, restingSpyBuy(clientOrderId));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.status).toBe('new');
      placed.push(res.body.id);
    };
    await place();
    await redis!.kill();
    const stoppedAt = Date.now();
    // The queues answer 503 at once, not a hang; orders, reads and the on-demand pass go on through PostgreSQL.
    const started = Date.now();
    expectProblem(await admin(gateway).get('/v1/ops/jobs'), 503, 'service.unavailable');
    expect(Date.now() - started).toBeLessThan(5_000);
    const reconciled = await admin(gateway).post(`/v1/accounts/${accountId}/reconcile`);
    expect(reconciled.status, JSON.stringify(reconciled.body)).toBe(200);
    while (Date.now() - stoppedAt < OUTAGE_MS) {
      await place();
      await sleep(1_000);
    }
    const listed = await trader.get(`/v1/accounts/${gateway.accountId}/orders?limit=500`);
    expect(listed.status).toBe(200);
    await redis!.start();
    const restartedAt = Date.now();

    // Recovers by itself: the queues answer again, and the scheduled passes (their jobs kept by Redis) run.
    let last: unknown;
    await eventually(
      async () => {
        const res = await admin(gateway).get('/v1/ops/jobs');
        last = res.body;
        return res.status === 200;
      },
      30_000,
      'jobs again',
    ).catch((error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(last)}\n${gateway.output().slice(-3000)}`);
    });
    const resumed = await eventually(
      async () =>
        (await runsOf(accountId)).find(
          (r) => r.trigger === 'scheduled' && r.started_at.getTime() > restartedAt && r.outcome === 'clean',
        ),
      20_000,
      'a scheduled pass after Redis is back',
    );
    expect(resumed.job_id).not.toBeNull();
    // The pass run in process while Redis was down is in the log, without a job id.
    expect(
      (await runsOf(accountId)).some(
        (r) => r.job_id === null && r.trigger === 'on_demand' && r.started_at.getTime() >= stoppedAt,
      ),
    ).toBe(true);
    // No order lost: every one placed is there, working at the venue.
    const orders = (await trader.get(`/v1/accounts/${gateway.accountId}/orders?limit=500`)).body.orders as {
      id: string;
      status: string;
    }[];
    expect(placed.length).toBeGreaterThanOrEqual(15);
    for (const id of placed) {
      expect(orders.find((o) => o.id === id)?.status).toBe('new');
    }
    expect(gateway.child.exitCode).toBeNull();
  }, 90_000);

  it('shuts down during a Redis outage: the job workers are force-closed after a bound, and it says so', async () => {
    const gateway = gateways[0]!;
    await redis!.kill();
    // The workers' connections see Redis gone (they reconnect every 2 s at most) before the shutdown.
    await sleep(2_500);
    const exited = gateway.stop('SIGTERM');
    const outcome = await Promise.race([exited, sleep(SHUTDOWN_BOUND_MS).then(() => 'still running' as const)]);
    if (outcome === 'still running') {
      await gateway.stop('SIGKILL');
    }
    expect(outcome, gateway.output().slice(-3000)).toBe(0);
    const forced = gateway
      .output()
      .split('\n')
      .filter((line) => line.includes('job workers force-closed'));
    expect(forced.length, gateway.output().slice(-3000)).toBe(1);
    expect(JSON.parse(forced[0]!)).toMatchObject({ level: 40, timeoutMs: expect.any(Number) });
    await redis!.start();
  }, 90_000);
});
