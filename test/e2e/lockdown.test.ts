import { mkdirSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openCockpitPage, textWhere } from '../support/cockpit-browser.js';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { expectProblem, orderWhen } from '../support/e2e.js';
import { type GatewayProcess, mintToken, ROOT, startGatewayProcess } from '../support/gateway-process.js';
import { Api, eventually } from '../support/http.js';
import { D } from '../support/market-data.js';
import { type MonitorProcess, startMonitorProcess } from '../support/monitor-process.js';
import { startVenueProcess, type VenueProcess } from '../support/venue-process.js';
import { tunnelUpgrades } from '../support/venue-proxy.js';

/**
 * The RTT lockdown (README, "RTT lockdown") against the fake broker (the paper venue over HTTP) as its own
 * process: its latency is raised with an `ack_delay` fault on every submit, cancel and replace (the venue
 * acts, and answers, 60 ms late), over the 20 ms threshold; then cleared. The first gateway also has a
 * monitor beside it and the cockpit open in Chromium, which must show the lockdown (Sentinel and Gates)
 * while it holds, and its lifting.
 */
const WINDOW_MS = 2_000;
const HOLD_OFF_MS = 1_500;
const SLOW_MS = 60;
const lockdownEnv = {
  LOCKDOWN_RTT_MS: '20',
  LOCKDOWN_WINDOW_MS: String(WINDOW_MS),
  LOCKDOWN_MIN_SAMPLES: '5',
  LOCKDOWN_HOLD_OFF_MS: String(HOLD_OFF_MS),
};

const ARTIFACTS = join(ROOT, 'test-artifacts');

interface Setup {
  db: TestDatabase;
  redisPrefix: string;
  venue: VenueProcess;
  gw: GatewayProcess;
  api: Api;
  risk: Api;
  accountId: string;
  bid: D;
  ask: D;
}

async function setUp(env: Record<string, string>): Promise<Setup> {
  const db = await createTestDatabase();
  const prefix = redisPrefix();
  const venue = await startVenueProcess({ PAPER_START_TIME: '09:30:05' });
  const gw = await startGatewayProcess({
    DATABASE_URL: db.url,
    REDIS_PREFIX: prefix,
    PAPER_START_TIME: '09:30:05',
    PAPER_VENUE_URL: venue.url,
    ...lockdownEnv,
    ...env,
  });
  const api = new Api(gw.url, gw.traderToken);
  const risk = api.withToken(await mintToken(db.url, ['--sub', 'e2e-risk', '--role', 'risk', '--account', '*']));
  const quote = (await api.get('/v1/quotes/SPY')).body;
  return {
    db,
    redisPrefix: prefix,
    venue,
    gw,
    api,
    risk,
    accountId: gw.accountId,
    bid: new D(quote.bid),
    ask: new D(quote.ask),
  };
}

async function tearDown(s: Setup | undefined): Promise<void> {
  await s?.gw.stop('SIGKILL');
  await s?.venue.stop();
  await s?.db.drop();
}

const orders = (s: Setup) => `/v1/accounts/${s.accountId}/orders`;
const entry = (s: Setup, clientOrderId: string) => ({
  clientOrderId,
  symbol: 'SPY',
  side: 'buy',
  quantity: '10',
  type: 'limit',
  limitPrice: s.bid.minus('0.50').toFixed(2), // passive: rests at the paused venue
});
const account = async (s: Setup) => (await s.api.get(`/v1/accounts/${s.accountId}`)).body;
const latestChange = async (s: Setup) =>
  (await s.api.get(`/v1/accounts/${s.accountId}/trading-state/history?limit=1`)).body.changes[0];
/** The gauge of this venue's lockdown as the gateway sees it (1 locked, 0 clear). */
const lockdownGauge = async (s: Setup) =>
  Number(
    /^gateway_lockdown_active\{venue="paper"[^}]*\} (\S+)$/m.exec(
      await (await fetch(`${s.gw.url}/metrics`)).text(),
    )?.[1],
  );

/** A position of 10 SPY, bought before the venue slows down, to exit from later. */
async function buyPosition(s: Setup): Promise<void> {
  const buy = await s.api.post(orders(s), { ...entry(s, 'position'), limitPrice: s.ask.plus('0.05').toFixed(2) });
  expect(buy.status, JSON.stringify(buy.body)).toBe(201);
  await orderWhen(s.api, s.accountId, buy.body.id, (o) => o.status === 'filled');
}

/**
 * Slows the venue and places entries one after the other until one is refused: the lockdown must take the
 * account within the window. Returns the ids of the entries that went through (resting at the venue).
 */
async function slowUntilLockedDown(s: Setup, prefix: string): Promise<string[]> {
  await s.venue.addFault({ kind: 'ack_delay', delayMs: SLOW_MS });
  const accepted: string[] = [];
  const started = Date.now();
  for (let i = 0; i < 40; i += 1) {
    const res = await s.api.post(orders(s), entry(s, `${prefix}-${i}`));
    if (res.status === 422) {
      expectProblem(res, 422, 'risk.entries_blocked');
      break;
    }
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    accepted.push(res.body.id);
  }
  // LOCKDOWN_MIN_SAMPLES round trips first: the position's buy (or earlier ones in the window) and these.
  expect(accepted.length, JSON.stringify(await latestChange(s))).toBeGreaterThanOrEqual(1);
  expect(Date.now() - started, 'locked down within the window').toBeLessThan(WINDOW_MS + 1_000);
  return accepted;
}

async function expectLockedDown(s: Setup): Promise<void> {
  const a = await account(s);
  expect(a.tradingState).toBe('reducing');
  expect(a.tradingStateReason).toMatch(/RTT lockdown: broker round trip p99 [\d.]+ ms to paper/);
  const change = await latestChange(s);
  expect(change).toMatchObject({
    state: 'reducing',
    previousState: 'active',
    source: 'lockdown',
    changedBy: 'gateway',
  });
  const p99 = Number(/p99 ([\d.]+) ms/.exec(change.reason)?.[1]);
  expect(p99, change.reason).toBeGreaterThan(20);
  expect(change.reason).toContain('exceeds LOCKDOWN_RTT_MS 20 ms');
}

/** An exit of 4 of the 10 bought (a marketable sell at the bid) passes, and fills. */
async function expectExitPasses(s: Setup, clientOrderId: string): Promise<void> {
  const exit = await s.api.post(orders(s), {
    ...entry(s, clientOrderId),
    side: 'sell',
    quantity: '4',
    positionEffect: 'close',
    limitPrice: s.bid.toFixed(2),
  });
  expect(exit.status, JSON.stringify(exit.body)).toBe(201);
  await orderWhen(s.api, s.accountId, exit.body.id, (o) => o.status === 'filled');
}

describe('RTT lockdown, lifted by the gateway (LOCKDOWN_LIFT=auto)', () => {
  let s: Setup;
  let monitor: MonitorProcess;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  beforeAll(async () => {
    s = await setUp({});
    const riskToken = await mintToken(s.db.url, ['--sub', 'e2e-desk', '--role', 'risk', '--account', '*']);
    [monitor, browser] = await Promise.all([
      startMonitorProcess({
        DATABASE_URL: s.db.url,
        REDIS_PREFIX: s.redisPrefix,
        MONITOR_GATEWAY_URL: s.gw.url,
        LOG_LEVEL: 'warn',
      }),
      launchChromium(),
    ]);
    page = await openCockpitPage(browser, monitor.url, riskToken, pageErrors);
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await monitor?.stop();
    await tearDown(s);
  });

  it('takes entry authority when the p99 exceeds the threshold, lets exits pass, and gives it back', async () => {
    // The cockpit sees the venue clear and the account's entries open first.
    expect(await textWhere(page, 'lockdown-threshold-paper', (t) => t !== '')).toBe('20.00 ms');
    await textWhere(page, 'lockdown-state-paper', (t) => t === 'clear');
    await textWhere(page, `gates-${s.accountId}`, (t) => t.includes('open'));
    await buyPosition(s);
    expect((await account(s)).tradingState).toBe('active');
    const resting = await slowUntilLockedDown(s, 'slow');
    await expectLockedDown(s);
    expect(await lockdownGauge(s)).toBe(1);
    await expectExitPasses(s, 'exit-while-locked');

    // The cockpit shows it: the venue locked with its p99 over the threshold (Sentinel), the account
    // `reducing` by the RTT lockdown with the gateway's reason (emergency status), and its lockdown gate.
    const { reason } = await latestChange(s);
    await textWhere(page, 'lockdown-state-paper', (t) => t === 'lockdown');
    const rtt = await textWhere(page, 'rtt-paper', (t) => /^paper[\d.]+ ms([\d.]+) ms/.test(t));
    expect(Number(/^paper[\d.]+ ms([\d.]+) ms/.exec(rtt)?.[1]), rtt).toBeGreaterThan(20);
    const sentinel = await textWhere(page, `account-state-${s.accountId}`, (t) => t.includes('reducing'));
    expect(sentinel).toContain(`paper-demo: reducing (RTT lockdown by gateway at `);
    expect(sentinel).toContain(reason);
    const gates = await textWhere(page, `gates-${s.accountId}`, (t) => t.includes('RTT lockdown (exits only)'));
    expect(gates).toContain(reason);
    await page.screenshot({ path: join(ARTIFACTS, 'cockpit-lockdown.png'), fullPage: true });

    // Back to normal: the slow round trips leave the window, and after the hold-off the lockdown lifts.
    await s.venue.clearFaults();
    for (const id of resting) {
      expect((await s.api.delete(`${orders(s)}/${id}`)).status).toBe(202); // fast round trips now
    }
    const lifted = await eventually(
      async () => ((await account(s)).tradingState === 'active' ? latestChange(s) : null),
      WINDOW_MS + HOLD_OFF_MS + 8_000,
      'the lockdown lifted',
    );
    expect(lifted).toMatchObject({ state: 'active', previousState: 'reducing', source: 'lockdown' });
    expect(lifted.reason).toMatch(/RTT lockdown lifted: broker round trips to paper under LOCKDOWN_RTT_MS 20 ms/);
    expect(await lockdownGauge(s)).toBe(0);
    const again = await s.api.post(orders(s), entry(s, 'entry-after'));
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    // And the cockpit shows it lifted: the venue clear, the account active, its entries open.
    await textWhere(page, 'lockdown-state-paper', (t) => t === 'clear');
    await textWhere(page, `account-state-${s.accountId}`, (t) => t === 'paper-demo: active');
    await textWhere(page, `gates-${s.accountId}`, (t) => t.includes('open'));
    expect(pageErrors).toEqual([]);
  });

  it('leaves a state risk staff set alone: a halt during the lockdown is not lifted by it', async () => {
    await slowUntilLockedDown(s, 'slow-2');
    const halted = await s.risk.request('PUT', `/v1/accounts/${s.accountId}/trading-state`, {
      state: 'halted',
      reason: 'desk halts it',
    });
    expect(halted.status, JSON.stringify(halted.body)).toBe(200);
    await s.venue.clearFaults();
    await eventually(async () => (await lockdownGauge(s)) === 0, WINDOW_MS + HOLD_OFF_MS + 8_000, 'venue clear');
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // a pass over the accounts after it
    expect((await account(s)).tradingState).toBe('halted');
    expect((await latestChange(s)).source).toBe('trading_state');
  });
});

describe('RTT lockdown, lifted by risk staff only (LOCKDOWN_LIFT=manual)', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setUp({ LOCKDOWN_LIFT: 'manual' });
  });
  afterAll(() => tearDown(s));

  it('stays until risk staff lift it, and takes the account again while the venue is still slow', async () => {
    await buyPosition(s);
    await slowUntilLockedDown(s, 'slow');
    await expectLockedDown(s);
    await expectExitPasses(s, 'exit-while-locked');

    // Lifted early, while the venue is still slow: the lockdown takes the account again.
    const early = await s.risk.request('PUT', `/v1/accounts/${s.accountId}/trading-state`, {
      state: 'active',
      reason: 'too early',
    });
    expect(early.status, JSON.stringify(early.body)).toBe(200);
    await eventually(
      async () => (await account(s)).tradingState === 'reducing' && (await latestChange(s)).source === 'lockdown',
      5_000,
      'the lockdown taking the account again',
    );

    await s.venue.clearFaults();
    await eventually(async () => (await lockdownGauge(s)) === 0, WINDOW_MS + HOLD_OFF_MS + 8_000, 'venue clear');
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // a pass over the accounts after it
    expect((await account(s)).tradingState, 'not lifted by the gateway').toBe('reducing');
    expectProblem(await s.api.post(orders(s), entry(s, 'still-refused')), 422, 'risk.entries_blocked');

    const lift = await s.risk.request('PUT', `/v1/accounts/${s.accountId}/trading-state`, {
      state: 'active',
      reason: 'venue latency back to normal',
    });
    expect(lift.status, JSON.stringify(lift.body)).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // a pass over the accounts after it
    expect((await account(s)).tradingState).toBe('active');
    const res = await s.api.post(orders(s), entry(s, 'entry-after'));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });
});

/** An HTTP proxy in front of the venue that, while `slowMs` > 0, holds every order command (POST, DELETE, PATCH) that long. */
async function startSlowProxy(venueUrl: string): Promise<{ url: string; slowMs: number; close(): Promise<void> }> {
  const target = new URL(venueUrl);
  const state = { slowMs: 0 };
  const server: Server = createServer((req, res) => {
    const forward = () => {
      const upstream = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    };
    const command = req.method !== 'GET' && (req.url ?? '').startsWith('/v1/orders');
    if (command && state.slowMs > 0) {
      setTimeout(forward, state.slowMs);
    } else {
      forward();
    }
  });
  // The venue's market stream (a WebSocket upgrade) passes, never slowed.
  const closeTunnels = tunnelUpgrades(server, target);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    get slowMs() {
      return state.slowMs;
    },
    set slowMs(ms) {
      state.slowMs = ms;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        closeTunnels();
        server.close(() => resolve());
      }),
  };
}

/** Long enough that the slow instance's round trips stay in its window while the fast one could lift. */
const TWO_WINDOW_MS = 5_000;

describe('RTT lockdown with two instances, one of them on a slow path to the venue', () => {
  let s: Setup;
  let proxy: Awaited<ReturnType<typeof startSlowProxy>>;
  let fast: GatewayProcess;
  let viaFast: Setup;
  beforeAll(async () => {
    const db = await createTestDatabase();
    const prefix = redisPrefix();
    const venue = await startVenueProcess({ PAPER_START_TIME: '09:30:05' });
    proxy = await startSlowProxy(venue.url);
    const env = {
      DATABASE_URL: db.url,
      REDIS_PREFIX: prefix,
      PAPER_START_TIME: '09:30:05',
      ...lockdownEnv,
      LOCKDOWN_WINDOW_MS: String(TWO_WINDOW_MS),
    };
    const slow = await startGatewayProcess({ ...env, PAPER_VENUE_URL: proxy.url });
    fast = await startGatewayProcess({ ...env, PAPER_VENUE_URL: venue.url });
    const api = new Api(slow.url, slow.traderToken);
    const quote = (await api.get('/v1/quotes/SPY')).body;
    const risk = api.withToken(await mintToken(db.url, ['--sub', 'e2e-risk', '--role', 'risk', '--account', '*']));
    s = {
      db,
      redisPrefix: prefix,
      venue,
      gw: slow,
      api,
      risk,
      accountId: slow.accountId,
      bid: new D(quote.bid),
      ask: new D(quote.ask),
    };
    viaFast = { ...s, gw: fast, api: new Api(fast.url, slow.traderToken) };
  });
  afterAll(async () => {
    await fast?.stop('SIGKILL');
    await tearDown(s);
    await proxy?.close();
  });

  it('the slow instance locks the account for both; the fast one does not lift it while the slow one still holds it', async () => {
    expect(viaFast.accountId).toBe(s.accountId);
    proxy.slowMs = SLOW_MS;
    const resting: string[] = [];
    for (let i = 0; i < 40 && (await account(s)).tradingState === 'active'; i += 1) {
      const res = await s.api.post(orders(s), entry(s, `slow-path-${i}`));
      if (res.status === 201) {
        resting.push(res.body.id);
      }
    }
    await expectLockedDown(s);
    expectProblem(await viaFast.api.post(orders(s), entry(s, 'via-fast')), 422, 'risk.entries_blocked');
    expect(await lockdownGauge(viaFast), 'the fast instance sees no latency').toBe(0);

    // The fast instance has been under the threshold since it started, far longer than the hold-off, and
    // passes over the accounts every second: only the slow one's hold (its window still over) stops it.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect((await account(s)).tradingState).toBe('reducing');
    expect(await lockdownGauge(s)).toBe(1);

    // The slow path recovers: once its window has been clear for the hold-off, the lockdown lifts.
    proxy.slowMs = 0;
    for (const id of resting) {
      expect((await s.api.delete(`${orders(s)}/${id}`)).status).toBe(202);
    }
    const lifted = await eventually(
      async () => ((await account(s)).tradingState === 'active' ? latestChange(s) : null),
      TWO_WINDOW_MS + HOLD_OFF_MS + 8_000,
      'the lockdown lifted',
    );
    expect(lifted).toMatchObject({ state: 'active', source: 'lockdown' });
    expect((await viaFast.api.post(orders(s), entry(s, 'via-fast-after'))).status).toBe(201);
  });
});
