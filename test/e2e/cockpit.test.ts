import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { expectProblem } from '../support/e2e.js';
import { mintToken, ROOT } from '../support/gateway-process.js';
import { Api, eventually } from '../support/http.js';
import { type QuickStart, startQuickStart } from '../support/monitor-process.js';

/**
 * The cockpit in a real Chromium (Debian's `chromium`, driven by playwright-core; README, "Cockpit"), on
 * what `npm start` starts: one gateway replaying the paper market at real speed and, beside it, one monitor
 * serving the built cockpit, both URLs printed. A risk user
 * sees every panel with live figures; orders placed over REST move the Execution panel; the kill switch
 * clicked in the page (reason, confirm) halts, and the next entry over REST answers `422
 * risk.trading_halted`; a viewer gets no kill switch. Screenshots go to test-artifacts/ (CHROMIUM_PATH
 * overrides /usr/bin/chromium).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts');

let db: TestDatabase;
let quick: QuickStart;
/** The gateway and the monitor as `npm start` printed them. */
let gateway: { url: string; accountId: string; traderToken: string };
let monitor: { url: string };
let browser: Browser;
const tokens = { risk: '', viewer: '', admin: '' };
/** Every uncaught error of the pages opened. */
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does), or set CHROMIUM_PATH`);
  }
  db = await createTestDatabase();
  const env = { DATABASE_URL: db.url, REDIS_PREFIX: redisPrefix() };
  // The replay runs at recorded speed from the open, so quotes (and their ages) move while the page is open.
  // The RTT lockdown runs with a threshold the paper venue stays far under: the Sentinel shows it, clear.
  quick = await startQuickStart({
    ...env,
    PAPER_SPEED: '1',
    PAPER_START_TIME: '09:30:05',
    LOG_LEVEL: 'warn',
    LOCKDOWN_RTT_MS: '5000',
  });
  gateway = { url: quick.gatewayUrl, accountId: quick.accountId, traderToken: quick.traderToken };
  monitor = { url: quick.monitorUrl };
  // The monitor forwards the kill switch to the gateway npm start started (MONITOR_GATEWAY_URL).
  expect(quick.output()).toContain(`Cockpit (monitor) listening on ${monitor.url}  (gateway: ${gateway.url})`);
  expect(quick.cockpitLink).toMatch(new RegExp(`^${monitor.url}/#token=ey`));
  [tokens.risk, tokens.viewer, tokens.admin] = await Promise.all([
    mintToken(db.url, ['--sub', 'e2e-risk', '--role', 'risk', '--account', '*']),
    mintToken(db.url, ['--sub', 'e2e-viewer', '--role', 'viewer', '--account', '*']),
    mintToken(db.url, ['--sub', 'e2e-admin', '--role', 'admin', '--account', '*']),
  ]);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  mkdirSync(ARTIFACTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await quick?.stop();
  await db?.drop();
});

async function openCockpit(token: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1300 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => (errors.push(e.message), pageErrors.push(e.message)));
  page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
  await page.goto(`${monitor.url}/#token=${token}`);
  await page.getByTestId('connection-status').filter({ hasText: 'open' }).waitFor({ timeout: 15_000 });
  // The token is taken out of the address at once.
  expect(page.url()).not.toContain('token=');
  expect(errors).toEqual([]);
  return page;
}

const text = async (page: Page, testId: string) => (await page.getByTestId(testId).first().textContent()) ?? '';

/** Waits until the element's text differs from `before` (the page is live). */
async function changes(page: Page, testId: string, timeoutMs = 10_000): Promise<string> {
  const before = await text(page, testId);
  return eventually(
    async () => {
      const now = await text(page, testId);
      return now !== before ? now : null;
    },
    timeoutMs,
    `${testId} to change from ${before.slice(0, 200)}`,
  );
}

describe('the cockpit in Chromium', () => {
  it('shows live panels to risk staff, moves with orders, and halts trading from the kill switch', async () => {
    const page = await openCockpit(tokens.risk);
    expect(await text(page, 'whoami')).toContain('e2e-risk (risk)');
    await page.getByTestId('panel-sentinel').waitFor({ timeout: 10_000 });
    for (const panel of [
      'sentinel',
      'kill-switch',
      'gates',
      'stages',
      'execution',
      'market',
      'accounts',
      'order-book',
    ]) {
      expect(
        await page.getByTestId(`panel-${panel}`).isVisible(),
        `panel ${panel}, errors: ${pageErrors.join('; ')}`,
      ).toBe(true);
    }
    // Sentinel: one instance up, its figures and the frame clock move four times a second.
    await page.getByTestId('instance-row').first().waitFor();
    await changes(page, 'frame-at', 2_000);
    await changes(page, 'instance-row');
    // The lockdown's threshold and state per venue, beside its exact round-trip window.
    await page.getByTestId('lockdown-threshold-paper').waitFor({ timeout: 10_000 });
    expect(await text(page, 'lockdown-threshold-paper')).toBe('5000.00 ms');
    expect(await text(page, 'lockdown-state-paper')).toBe('clear');
    expect(await text(page, 'kill-switch-status')).toBe('Kill switch: armed');
    // Market: the replay moves SPY's quote (its age on the replay clock goes up and resets).
    await changes(page, 'market-SPY');
    expect(await text(page, 'market-SPY')).toMatch(/SPY\d+\.\d+/);
    // Order book: the LOBSTER books move under the gateway's paper replay (its clock, from 09:30:05), the
    // WOBI and the liquidity imbalance with them.
    const book = await changes(page, 'book-figures');
    expect(book).toMatch(/AAPL 2012-06-21 09:30:\d\d\.\d{3} ET .* WOBI -?\d\.\d{3} · liquidity imbalance -?\d+\.\d %/);
    expect(book.slice(17, 29) >= '09:30:05', book).toBe(true);
    expect(await text(page, 'panel-order-book')).toContain('w1…w10 = 1, 1/2, 1/3, … 1/10');
    const charts = await page.locator('[data-testid^=chart-] canvas').count();
    expect(charts).toBeGreaterThanOrEqual(5);

    // Orders over REST move the Execution panel and the blotter.
    const trader = new Api(gateway.url, gateway.traderToken);
    const row = `execution-${gateway.accountId}`;
    await eventually(async () => (await text(page, row)).includes('paper-demo'), 10_000, 'execution row');
    const executionBefore = await text(page, row);
    expect(await page.getByTestId(row).getByTestId('execution-orders').textContent()).toBe('0');
    expect(await page.getByTestId(row).getByTestId('execution-venue').textContent()).toBe('paper');
    const spy = (await trader.get('/v1/quotes/SPY')).body;
    for (let i = 0; i < 4; i++) {
      const res = await trader.post(`/v1/accounts/${gateway.accountId}/orders`, {
        clientOrderId: `cockpit-mkt-${i}`,
        symbol: 'SPY',
        side: 'buy',
        quantity: '1',
        type: 'market',
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    const passive = await trader.post(`/v1/accounts/${gateway.accountId}/orders`, {
      clientOrderId: 'cockpit-passive',
      symbol: 'SPY',
      side: 'buy',
      quantity: '1',
      type: 'limit',
      limitPrice: (Math.floor(Number(spy.bid) * 0.99 * 100) / 100).toFixed(2),
    });
    expect(passive.status, JSON.stringify(passive.body)).toBe(201);
    // Stage latency: the intent's stages and the paper venue's submit round trip, p50 and p99.
    await eventually(
      async () =>
        /^risk_checks–\d+\.\d{3} ms\d+\.\d{3} ms/.test(await text(page, 'stage-risk_checks')) &&
        /^broker_submitpaper\d+\.\d{3} ms\d+\.\d{3} ms/.test(await text(page, 'stage-broker_submit-paper')),
      10_000,
      'the stage latency panel to show the orders stages',
    );
    await eventually(
      async () => {
        const orders = await page.getByTestId(row).getByTestId('execution-orders').textContent();
        const working = await page.getByTestId(row).getByTestId('execution-working').textContent();
        return orders === '5' && working === '1';
      },
      15_000,
      'the execution panel to count 5 orders, 1 working',
    );
    expect(await text(page, row)).not.toBe(executionBefore);
    expect(await page.getByTestId(row).getByTestId('execution-fill-rate').textContent()).toMatch(/^\d+\.\d %$/);
    expect(Number(await page.getByTestId(row).getByTestId('execution-rate').textContent())).toBeGreaterThan(0);
    // The market buys filled at the ask against the mid at intent: a net expected value, in money.
    await eventually(
      async () => /^-?\d+\.\d\d$/.test((await page.getByTestId(row).getByTestId('execution-ev').textContent()) ?? ''),
      10_000,
      'the net expected value of the fills',
    );
    // The round trips of those orders in the lockdown's window (exact figures, not bucket bounds).
    await eventually(
      async () => /^paper\d+\.\d\d ms\d+\.\d\d ms\d+\.\d\d ms[1-9]/.test(await text(page, 'rtt-paper')),
      10_000,
      'the round trips in the window',
    );
    await eventually(
      async () => (await text(page, `account-${gateway.accountId}`)).includes('cockpit-passive'),
      10_000,
      'the blotter to show the passive order',
    );
    // The blotter's state timeline (from the order's events), and the position with its P&L at the mid.
    await eventually(
      async () =>
        (await page.getByTestId('order-timeline').allTextContents()).some((t) =>
          /^pending_new → new \+\d+ ms → filled \+\d+ ms$/.test(t),
        ),
      10_000,
      'a market order filled in the timeline',
    );
    // A decimal string as the API gives it: "0" when the mark equals the average price.
    expect(await text(page, 'unrealized-SPY')).toMatch(/^-?\d+(\.\d+)?$/);
    // Accounts: the reconciliation passes read through the monitor with the risk token; no audit tail for it.
    await eventually(
      async () =>
        /^Reconciliation: (no pass yet|clean|breaks|failed)/.test(
          await text(page, `reconciliation-${gateway.accountId}`),
        ),
      10_000,
      'the reconciliation of the account',
    );
    expect(await text(page, 'audit-unavailable')).toContain('admin');
    await page.screenshot({ path: join(ARTIFACTS, 'cockpit-before-halt.png'), fullPage: true });

    // The kill switch: global, a reason, the confirmation; the result as the gateway reports it.
    await page.getByTestId('kill-reason').fill('e2e: cockpit halt');
    await page.getByTestId('kill-halt').click();
    await page.getByTestId('kill-confirm-dialog').waitFor();
    await page.getByTestId('kill-confirm').click();
    await page.getByTestId('kill-result').waitFor({ timeout: 15_000 });
    expect(await text(page, 'kill-result')).toMatch(/Gateway answered 202: global halted by e2e-risk at /);
    await eventually(
      async () => (await text(page, 'kill-canceled')).startsWith('Orders canceled since the halt: 1 '),
      15_000,
      'the passive order counted canceled by the kill switch',
    );
    const entry = await trader.post(`/v1/accounts/${gateway.accountId}/orders`, {
      clientOrderId: 'cockpit-after-halt',
      symbol: 'SPY',
      side: 'buy',
      quantity: '1',
      type: 'market',
    });
    expectProblem(entry, 422, 'risk.trading_halted');
    // The cockpit shows the halt: emergency status, the account's gate, the working order canceled.
    await eventually(async () => (await text(page, 'global-state')).includes('halted'), 10_000, 'global halted');
    expect(await text(page, 'global-fired')).toContain('kill switch by e2e-risk at ');
    expect(await text(page, 'global-fired')).toContain('e2e: cockpit halt');
    expect(await text(page, 'kill-switch-status')).toMatch(/^Kill switch: fired globally by e2e-risk at /);
    await eventually(
      async () => (await text(page, `gates-${gateway.accountId}`)).includes('halted'),
      10_000,
      'the gate of the halted account',
    );
    await changes(page, `gates-${gateway.accountId}`, 5_000); // how long it has held, counting
    await eventually(
      async () => (await page.getByTestId(row).getByTestId('execution-working').textContent()) === '0',
      15_000,
      'the working order canceled by the kill switch',
    );
    await page.screenshot({ path: join(ARTIFACTS, 'cockpit.png'), fullPage: true });
    await page.close();
  }, 120_000);

  it('offers a viewer no kill switch, and the gateway refuses one forwarded for it', async () => {
    const page = await openCockpit(tokens.viewer);
    await page.getByTestId('panel-kill-switch').waitFor();
    await page.getByTestId('kill-switch-unavailable').waitFor();
    expect(await page.getByTestId('kill-halt').count()).toBe(0);
    expect(await page.getByTestId('kill-confirm').count()).toBe(0);
    // Whatever a page does: the monitor forwards the viewer's own token and the gateway says no.
    const forwarded = await new Api(monitor.url, tokens.viewer).post('/api/kill-switch', {
      scope: 'global',
      reason: 'a viewer tries',
    });
    expectProblem(forwarded, 403, 'auth.forbidden');
    await page.close();
  }, 60_000);

  it('shows an admin the audit tail, read through the monitor with the admin token', async () => {
    const page = await openCockpit(tokens.admin);
    // The earlier tests' requests (orders, the kill switch) are in the gateway's audit log.
    await eventually(
      async () => /POST \/v1\/kill-switch/.test(await text(page, 'audit-tail')),
      15_000,
      'the audit tail to show the kill switch',
    );
    expect(await page.getByTestId('audit-unavailable').count()).toBe(0);
    await page.close();
  }, 60_000);

  it('refuses a bad token on the WebSocket and shows the sign-in form again', async () => {
    const page = await browser.newPage();
    await page.goto(`${monitor.url}/#token=not-a-token`);
    await page.getByText('The monitor refused the token').waitFor({ timeout: 10_000 });
    await page.close();
  });
});
