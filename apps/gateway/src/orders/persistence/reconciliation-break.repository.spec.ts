import { Decimal } from '@gateway/oms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../../../test/support/database.js';
import { AccountRepository } from '../../accounts/account.repository.js';
import { ReconciliationBreakRepository } from './reconciliation-break.repository.js';
import { ReconciliationRunRepository } from './reconciliation-run.repository.js';
import { pino } from 'pino';
import { orderLedger } from '../../../../../test/support/order-repositories.js';
import { pendingOrder } from '../../../../../test/support/orders.js';

let db: TestDatabase;
let breaks: ReconciliationBreakRepository;
let runs: ReconciliationRunRepository;
let accountId: string;
let at = Date.UTC(2026, 11, 4, 15, 0);

beforeAll(async () => {
  db = await createTestDatabase();
  breaks = new ReconciliationBreakRepository(db.dataSource);
  runs = new ReconciliationRunRepository(db.dataSource);
  accountId = (await new AccountRepository(db.dataSource).ensurePaperAccount('breaks-spec')).id;
});
afterAll(async () => {
  await db?.drop();
});

const finding = (symbol: string, ours: string, broker: string) => ({
  symbol,
  ours: new Decimal(ours),
  broker: new Decimal(broker),
  executions: [],
  brokerPayload: { symbol, qty: broker },
});

/** One pass recording `findings`; answers its run id and what was recorded. */
async function pass(...findings: ReturnType<typeof finding>[]) {
  return passLeaving(new Set(), ...findings);
}

/** As `pass`, with `undecided` symbols the pass could not judge. */
async function passLeaving(undecided: ReadonlySet<string>, ...findings: ReturnType<typeof finding>[]) {
  at += 1_000;
  const runId = await runs.start({
    accountId,
    environment: 'paper',
    trigger: 'on_demand',
    instanceId: 'spec',
    jobId: null,
    at,
  });
  const recorded = await breaks.recordPositionPass(
    { accountId, runId, venue: 'paper', environment: 'paper', at },
    findings,
    undecided,
  );
  return { runId, ...recorded };
}

const brief = (list: { symbol: string; ours: Decimal; broker: Decimal; status: string }[]) =>
  list.map((b) => `${b.symbol} ${b.ours.toFixed()}/${b.broker.toFixed()} ${b.status}`);

describe('ReconciliationBreakRepository', () => {
  it('opens a break, keeps it while the same difference stays, and resolves it on a clean pass', async () => {
    const first = await pass(finding('SPY', '10', '13'));
    expect(brief(first.opened)).toEqual(['SPY 10/13 open']);
    const again = await pass(finding('SPY', '10', '13'));
    expect(again.opened).toEqual([]);
    expect(again.seen.map((b) => b.id)).toEqual([first.opened[0]!.id]);
    expect(await breaks.openCounts()).toEqual([{ venue: 'paper', environment: 'paper', count: 1 }]);

    const clean = await pass();
    expect(brief(clean.resolved)).toEqual(['SPY 10/13 resolved']);
    expect(clean.seen).toEqual([]);
    expect(await breaks.openCounts()).toEqual([]);
    // Each pass lists the breaks it saw, with their status now.
    const seen = await breaks.seenBy([first.runId, again.runId, clean.runId]);
    expect(brief(seen.get(first.runId)!)).toEqual(['SPY 10/13 resolved']);
    expect(brief(seen.get(again.runId)!)).toEqual(['SPY 10/13 resolved']);
    expect(seen.has(clean.runId)).toBe(false);
  });

  it('replaces a break whose difference changed by a new one; other symbols are their own', async () => {
    const first = await pass(finding('SPY', '10', '13'), finding('QQQ', '0', '-5'));
    const moved = await pass(finding('SPY', '10', '14'), finding('QQQ', '0', '-5'));
    expect(brief(moved.resolved)).toEqual(['SPY 10/13 resolved']);
    expect(brief(moved.opened)).toEqual(['SPY 10/14 open']);
    expect(moved.seen.find((b) => b.symbol === 'QQQ')!.id).toBe(first.opened.find((b) => b.symbol === 'QQQ')!.id);
    await pass();
  });

  it('acknowledges an open break once, with who and why; not another account’s, not a closed one', async () => {
    const { opened } = await pass(finding('SPY', '1', '2'));
    const id = opened[0]!.id;
    const done = await breaks.acknowledge(accountId, id, { by: 'risk-1', reason: 'known', at });
    expect(done).toMatchObject({
      kind: 'acknowledged',
      break: { status: 'acknowledged', acknowledgedBy: 'risk-1', acknowledgedReason: 'known' },
    });
    expect(await breaks.acknowledge(accountId, id, { by: 'risk-1', reason: 'again', at })).toMatchObject({
      kind: 'not_open',
      break: { status: 'acknowledged' },
    });
    const other = (await new AccountRepository(db.dataSource).ensurePaperAccount('breaks-spec-other')).id;
    expect(await breaks.acknowledge(other, id, { by: 'risk-1', reason: 'x', at })).toEqual({ kind: 'not_found' });
    // Acknowledged: no longer open (not counted, not blocking), still seen while the difference stays.
    expect(await breaks.openCounts()).toEqual([]);
    expect(await breaks.openPositionBreaks(accountId)).toEqual([]);
    const again = await pass(finding('SPY', '1', '2'));
    expect(brief(again.seen)).toEqual(['SPY 1/2 acknowledged']);
    const clean = await pass();
    expect(brief(clean.resolved)).toEqual(['SPY 1/2 resolved']);
  });

  it('leaves the break of an undecided symbol as it is, and names the symbols with uncertain orders', async () => {
    const { opened } = await pass(finding('SPY', '1', '2'));
    // SPY undecided this pass (an order in flight): its break neither resolved nor seen again.
    const undecided = await passLeaving(new Set(['SPY']));
    expect(undecided.resolved).toEqual([]);
    expect(undecided.seen).toEqual([]);
    expect(brief(await breaks.openPositionBreaks(accountId))).toEqual(['SPY 1/2 open']);
    const clean = await pass();
    expect(clean.resolved.map((b) => b.id)).toEqual([opened[0]!.id]);

    const ledger = await orderLedger(db.dataSource, pino({ level: 'silent' }));
    await ledger.inAccount(accountId, (tx) =>
      tx.insertOrder(pendingOrder(accountId, 'in-flight-1'), 'pending_new', 'paper'),
    );
    const recently = Date.now() - 60_000;
    expect(await breaks.symbolsInFlight([accountId], ['SPY', 'QQQ'], ['pending_new', 'unknown'], recently)).toEqual(
      new Set(['SPY']),
    );
    expect(await breaks.symbolsInFlight([accountId], ['SPY'], ['unknown'], recently)).toEqual(new Set());
    expect(await breaks.symbolsInFlight([], ['SPY'], ['pending_new'], recently)).toEqual(new Set());
    // Uncertain for longer than the window: stuck, not in flight.
    expect(await breaks.symbolsInFlight([accountId], ['SPY'], ['pending_new'], Date.now() + 60_000)).toEqual(new Set());
  });
});
