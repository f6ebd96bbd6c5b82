import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../apps/gateway/src/auth/principal.js';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { sleep } from '../support/e2e.js';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.js';
import { Api, eventually, type JsonResponse } from '../support/http.js';
import { registeredRoutes } from '../support/registered-routes.js';
import { createAccount } from '../support/risk.js';
import { StreamClient } from '../support/stream-client.js';
import { signWithDevKey } from '../support/tokens.js';

/**
 * The BOLA/BFLA matrix (README, "Grants"): every `/v1` operation of the gateway's own OpenAPI document
 * and every WebSocket channel, called by every role with a token granted only account A (plus a token
 * with no role, no token at all, and a token reaching A only through a database grant with role viewer),
 * on the caller's own account A, on a foreign account B, and with A's id around B's order (`A/oB`).
 * Each cell is expected allowed or denied by the rules below; the matrix of status codes is printed and
 * every denied cell must be denied (never 2xx, nothing changed in the database, nothing of B in a body).
 *
 * The rules (API.md; README, "Grants"): `viewer` reads, `trader` places/cancels/replaces orders, `risk` sets limits,
 * trading states, the kill switch and reconciles, `admin` changes accounts, grants, the replay, reads the
 * audit log, reconciles and uses the kill switch; the route's required roles are the ones its OpenAPI
 * summary names (`(role ...)`), checked against the table here. Reading needs a role (any of the four): a
 * token naming no gateway role reads nothing. A foreign account answers exactly as a missing one (404
 * `account.not_found`, no existence leak); a visible account with a role that is not enough 403
 * `auth.forbidden`; a database grant cuts the token's roles down to the grant's there. Global operations
 * (the global kill switch, the audit log, the paper replay) need the `*` grant.
 */

const ROLES: readonly Role[] = ['viewer', 'trader', 'risk', 'admin'];
const READ = 'read' as const;
type Side = 'own' | 'foreign' | 'mixed' | 'ghost';
/** The columns printed per caller; `ghost` (a nonexistent account) is only compared with `foreign`. */
const SHOWN_SIDES: readonly Side[] = ['own', 'foreign', 'mixed'];
const SIDE_LABEL: Record<Side, string> = { own: 'own', foreign: 'for', mixed: 'A/oB', ghost: 'nx' };

interface Caller {
  readonly name: string;
  /** The token's roles. */
  readonly roles: readonly Role[];
  /** The token's `accounts` claim is [A] (else []: only database grants). */
  readonly claimsA: boolean;
  /** Roles of a database grant on A. */
  readonly grantRoles?: readonly Role[];
  /** No token at all. */
  readonly anonymous?: boolean;
  api: Api;
  token?: string;
}

interface Target {
  readonly side: Side;
  readonly accountId: string;
  readonly orderId: string;
  /** A fresh open position break of the account (the acknowledge route), when the route names one. */
  readonly breakId?: string;
}

/**
 * - `account`: the path's accountId; `body-account`: the body's accountId (kill switch, scope account);
 * - `global`: needs the `*` grant (the paper replay too: every account shares it); `none`: no account
 *   (market data, lists of what one sees).
 */
type Scope = 'account' | 'body-account' | 'global' | 'none';

interface Op {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly variant?: string;
  readonly roles: readonly Role[] | typeof READ;
  readonly scope: Scope;
  /** Each cell gets a new resting order (the cell may cancel or replace it). */
  readonly freshOrder?: boolean;
  /** Run after every other row (the kill switch halts and cancels). */
  readonly last?: boolean;
  body?(t: Target): unknown;
  before?(t: Target): Promise<void>;
  after?(t: Target, res: JsonResponse): Promise<void>;
}

interface Cell {
  readonly op: Op;
  readonly caller: Caller;
  readonly side: Side;
  readonly allowed: boolean;
  readonly status: number | string;
  readonly code: string | undefined;
  /** Why this cell is wrong, if it is: an unauthorised success, a refused allowed call, a wrong denial. */
  readonly problems: { kind: 'unauthorised' | 'refused' | 'shape'; detail: string }[];
}

let db: TestDatabase;
let gw: GatewayProcess;
let A: string;
let B: string;
/** An account id that exists nowhere: a foreign account must answer exactly like it. */
const GHOST = uuidv7();
const star: { trader: Api; risk: Api; admin: Api } = {} as never;
const fixedOrder: Record<string, string> = {};
const limitsBody: Record<string, unknown> = {};
let counter = 0;

const callers: Caller[] = [
  { name: 'anon', roles: [], claimsA: false, anonymous: true, api: undefined as never },
  { name: 'none', roles: [], claimsA: true, api: undefined as never },
  ...ROLES.map((r) => ({ name: r, roles: [r], claimsA: true, api: undefined as never })),
  { name: 'grant:vw', roles: [...ROLES], claimsA: false, grantRoles: ['viewer'], api: undefined as never },
];

const orderBody = () => {
  const n = ++counter;
  return {
    clientOrderId: `matrix-${n}`,
    symbol: 'SPY',
    side: 'buy',
    quantity: '1',
    type: 'limit',
    limitPrice: (155 + (n % 500) / 100).toFixed(2),
  };
};

/** A new passive SPY buy resting in the account (placed with a `*` trader token). */
async function restingOrder(accountId: string): Promise<string> {
  const res = await star.trader.post(`/v1/accounts/${accountId}/orders`, orderBody());
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

const pendingSql = `SELECT count(*)::int AS n FROM orders WHERE status IN ('pending_new', 'pending_cancel', 'pending_replace')`;

/** Waits until no order is between two states (a cancel, replace or halt in flight has landed). */
async function settle(): Promise<void> {
  await eventually(
    async () => ((await db.dataSource.query(pendingSql))[0].n as number) === 0,
    5_000,
    'no order pending',
  );
}

/** What a refused call must leave as it was: accounts, orders, grants, limits, trading states, credentials. */
async function snapshot(): Promise<string> {
  const [row] = await db.dataSource.query(`
    SELECT json_build_object(
      'accounts', (SELECT json_agg(json_build_object('id', id, 'state', trading_state, 'live', live_enabled,
                   'seq', last_seq) ORDER BY id) FROM accounts),
      'global', (SELECT state FROM global_trading_state),
      'stateChanges', (SELECT count(*) FROM trading_state_changes),
      'limits', (SELECT count(*) FROM risk_limits),
      'grants', (SELECT json_agg(json_build_object('s', subject, 'a', account_id, 'r', roles)
                 ORDER BY subject, account_id) FROM account_grants),
      'orders', (SELECT json_agg(json_build_object('id', id, 'status', status, 'seq', last_seq) ORDER BY id) FROM orders),
      'messages', (SELECT count(*) FROM order_messages),
      'credentials', (SELECT json_agg(json_build_object('a', account_id, 'k', md5(ciphertext)) ORDER BY account_id)
                      FROM broker_credentials),
      'brokerAuthorizations', (SELECT count(*) FROM broker_authorizations),
      'brokerConnections', (SELECT count(*) FROM broker_connections)
    ) AS snap`);
  return JSON.stringify(row.snap);
}

const exists = (t: Target) => t.side !== 'ghost';

/** The account back to active (re-armed, or its state set), with `*` risk tokens. */
async function ensureAccountActive(accountId: string): Promise<void> {
  const [row] = await db.dataSource.query(`SELECT trading_state AS s FROM accounts WHERE id = $1`, [accountId]);
  if (row.s === 'halted') {
    const res = await star.risk.request('DELETE', '/v1/kill-switch', {
      scope: 'account',
      accountId,
      reason: 'matrix: re-arm',
    });
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  }
  const [again] = await db.dataSource.query(`SELECT trading_state AS s FROM accounts WHERE id = $1`, [accountId]);
  if (again.s !== 'active') {
    const res = await star.risk.request('PUT', `/v1/accounts/${accountId}/trading-state`, {
      state: 'active',
      reason: 'matrix: restore',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
}

async function ensureGlobalActive(): Promise<void> {
  const [row] = await db.dataSource.query(`SELECT state AS s FROM global_trading_state`);
  if (row.s === 'halted') {
    const res = await star.admin.request('DELETE', '/v1/kill-switch', { scope: 'global', reason: 'matrix: re-arm' });
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  }
}

async function halt(scope: { scope: 'global' } | { scope: 'account'; accountId: string }): Promise<void> {
  const res = await star.risk.post('/v1/kill-switch', { ...scope, reason: 'matrix: halt to re-arm' });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
}

async function setBroker(t: Target, broker: string): Promise<void> {
  if (exists(t)) {
    await db.dataSource.query(`UPDATE accounts SET broker = $2 WHERE id = $1`, [t.accountId, broker]);
  }
}

const killBody = (t: Target) => ({ scope: 'account', accountId: t.accountId, reason: 'matrix' });

/** Every `/v1` operation, with how to call it and who may. The OpenAPI document must list exactly these. */
const OPS: Op[] = [
  { method: 'GET', path: '/v1/accounts', roles: READ, scope: 'none' },
  {
    method: 'POST',
    path: '/v1/accounts',
    roles: ['admin'],
    scope: 'global',
    body: () => ({ name: `matrix-created-${++counter}`, broker: 'paper', environment: 'paper' }),
  },
  { method: 'GET', path: '/v1/accounts/{accountId}', roles: READ, scope: 'account' },
  {
    method: 'PATCH',
    path: '/v1/accounts/{accountId}',
    roles: ['admin'],
    scope: 'account',
    body: () => ({ liveEnabled: false }),
  },
  { method: 'GET', path: '/v1/accounts/{accountId}/grants', roles: ['admin'], scope: 'account' },
  {
    method: 'POST',
    path: '/v1/accounts/{accountId}/broker-connection',
    roles: ['admin'],
    scope: 'account',
    body: () => ({}),
    // An OAuth broker's account for the row (the gateway has a Schwab OAuth client), then paper again.
    before: (t) => setBroker(t, 'schwab'),
    after: (t) => setBroker(t, 'paper'),
  },
  { method: 'GET', path: '/v1/accounts/{accountId}/broker-connection', roles: ['admin'], scope: 'account' },
  { method: 'DELETE', path: '/v1/accounts/{accountId}/broker-connection', roles: ['admin'], scope: 'account' },
  {
    method: 'PUT',
    path: '/v1/accounts/{accountId}/grants/{subject}',
    roles: ['admin'],
    scope: 'account',
    body: () => ({ roles: ['viewer'] }),
  },
  {
    method: 'DELETE',
    path: '/v1/accounts/{accountId}/grants/{subject}',
    roles: ['admin'],
    scope: 'account',
    // A grant to withdraw, so that a success is possible.
    before: async (t) => {
      if (exists(t)) {
        const res = await star.admin.request('PUT', `/v1/accounts/${t.accountId}/grants/x`, { roles: ['viewer'] });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      }
    },
  },
  {
    method: 'PUT',
    path: '/v1/accounts/{accountId}/broker-credentials',
    roles: ['admin'],
    scope: 'account',
    body: () => ({ kind: 'api_key', keyId: 'PKMATRIX', secret: `matrix-secret-${++counter}` }),
  },
  {
    method: 'POST',
    path: '/v1/accounts/{accountId}/orders',
    roles: ['trader'],
    scope: 'account',
    body: () => orderBody(),
  },
  { method: 'GET', path: '/v1/accounts/{accountId}/orders', roles: READ, scope: 'account' },
  { method: 'DELETE', path: '/v1/accounts/{accountId}/orders', roles: ['trader'], scope: 'account' },
  { method: 'GET', path: '/v1/accounts/{accountId}/orders/{orderId}', roles: READ, scope: 'account' },
  {
    method: 'DELETE',
    path: '/v1/accounts/{accountId}/orders/{orderId}',
    roles: ['trader'],
    scope: 'account',
    freshOrder: true,
  },
  {
    method: 'PATCH',
    path: '/v1/accounts/{accountId}/orders/{orderId}',
    roles: ['trader'],
    scope: 'account',
    freshOrder: true,
    body: () => ({ clientOrderId: `matrix-r${++counter}`, limitPrice: '154.00' }),
  },
  { method: 'POST', path: '/v1/accounts/{accountId}/reconcile', roles: ['risk', 'admin'], scope: 'account' },
  { method: 'GET', path: '/v1/accounts/{accountId}/reconciliation', roles: READ, scope: 'account' },
  {
    method: 'POST',
    path: '/v1/accounts/{accountId}/reconciliation/breaks/{breakId}/acknowledge',
    roles: ['risk'],
    scope: 'account',
    body: () => ({ reason: 'matrix' }),
  },
  { method: 'GET', path: '/v1/accounts/{accountId}/executions', roles: READ, scope: 'account' },
  { method: 'GET', path: '/v1/accounts/{accountId}/positions', roles: READ, scope: 'account' },
  { method: 'GET', path: '/v1/accounts/{accountId}/balances', roles: READ, scope: 'account' },
  { method: 'GET', path: '/v1/accounts/{accountId}/events', roles: READ, scope: 'account' },
  { method: 'GET', path: '/v1/accounts/{accountId}/risk-limits', roles: READ, scope: 'account' },
  {
    method: 'PUT',
    path: '/v1/accounts/{accountId}/risk-limits',
    roles: ['risk'],
    scope: 'account',
    // The account's own current limits (read with a `*` token), unchanged: a valid new version.
    body: (t) => ({ limits: limitsBody[t.accountId] ?? limitsBody[A], reason: 'matrix' }),
  },
  { method: 'GET', path: '/v1/accounts/{accountId}/risk-limits/history', roles: READ, scope: 'account' },
  {
    method: 'PUT',
    path: '/v1/accounts/{accountId}/trading-state',
    roles: ['risk', 'admin'],
    scope: 'account',
    body: () => ({ state: 'reducing', reason: 'matrix' }),
    after: async (t) => (exists(t) ? ensureAccountActive(t.accountId) : undefined),
  },
  { method: 'GET', path: '/v1/accounts/{accountId}/trading-state/history', roles: READ, scope: 'account' },
  { method: 'GET', path: '/v1/accounts/{accountId}/order-to-trade', roles: READ, scope: 'account' },
  { method: 'GET', path: '/v1/trading-state', roles: READ, scope: 'none' },
  { method: 'GET', path: '/v1/trading-state/history', roles: READ, scope: 'none' },
  {
    method: 'POST',
    path: '/v1/kill-switch',
    variant: 'account',
    roles: ['risk', 'admin'],
    scope: 'body-account',
    last: true,
    body: killBody,
    after: async (t) => (exists(t) ? ensureAccountActive(t.accountId) : undefined),
  },
  {
    method: 'DELETE',
    path: '/v1/kill-switch',
    variant: 'account',
    roles: ['risk', 'admin'],
    scope: 'body-account',
    last: true,
    // Halted first, so that a re-arm is possible.
    before: async (t) => (exists(t) ? halt({ scope: 'account', accountId: t.accountId }) : undefined),
    body: killBody,
    after: async (t) => (exists(t) ? ensureAccountActive(t.accountId) : undefined),
  },
  {
    method: 'POST',
    path: '/v1/kill-switch',
    variant: 'global',
    roles: ['risk', 'admin'],
    scope: 'global',
    last: true,
    body: () => ({ scope: 'global', reason: 'matrix' }),
    after: ensureGlobalActive,
  },
  {
    method: 'DELETE',
    path: '/v1/kill-switch',
    variant: 'global',
    roles: ['risk', 'admin'],
    scope: 'global',
    last: true,
    before: () => halt({ scope: 'global' }),
    body: () => ({ scope: 'global', reason: 'matrix' }),
    after: ensureGlobalActive,
  },
  { method: 'GET', path: '/v1/quotes/{symbol}', roles: READ, scope: 'none' },
  { method: 'GET', path: '/v1/instruments', roles: READ, scope: 'none' },
  { method: 'GET', path: '/v1/venues/paper/replay', roles: ['admin'], scope: 'global' },
  {
    method: 'POST',
    path: '/v1/venues/paper/replay',
    roles: ['admin'],
    scope: 'global',
    body: () => ({ paused: true }),
  },
  { method: 'GET', path: '/v1/audit', roles: ['admin'], scope: 'global' },
  { method: 'GET', path: '/v1/ops/jobs', roles: ['admin'], scope: 'global' },
];

/**
 * The `/v1` operations that need no token (`security: []` in the document), outside the matrix: the OAuth
 * callback a browser is redirected to, checked by its single-use state (test/e2e/broker-oauth.test.ts).
 */
const PUBLIC_V1 = ['GET /v1/oauth/{broker}/callback'];

const opKey = (op: Pick<Op, 'method' | 'path'>) => `${op.method} ${op.path}`;
const rowLabel = (op: Op) =>
  op.path === '/v1/stream' ? `WS /v1/stream ${op.variant}` : `${opKey(op)}${op.variant ? ` [${op.variant}]` : ''}`;
const hasOrder = (op: Op) => op.path.includes('{orderId}');

function sidesOf(op: Op): Side[] {
  if (op.scope === 'none' || op.scope === 'global') {
    return ['own'];
  }
  return hasOrder(op) ? ['own', 'foreign', 'mixed', 'ghost'] : ['own', 'foreign', 'ghost'];
}

const roleEnough = (needed: Op['roles'], have: readonly Role[]) =>
  needed === READ ? have.length > 0 : needed.some((r) => have.includes(r));

/** The rules: may this caller do this on this side? */
function allowed(op: Op, who: Caller, side: Side): boolean {
  if (who.anonymous || !roleEnough(op.roles, who.roles)) {
    return false;
  }
  switch (op.scope) {
    case 'none':
      return true;
    case 'global':
      return false; // nobody here holds the `*` grant
    case 'account':
    case 'body-account':
      if (side !== 'own') {
        return false;
      }
      return who.claimsA || (who.grantRoles !== undefined && roleEnough(op.roles, who.grantRoles));
  }
}

/** The refusals acceptable for a denied cell (status and problem code). */
function expectedDenials(op: Op, who: Caller, side: Side): string[] {
  if (who.anonymous) {
    return ['401 auth.unauthenticated'];
  }
  if (!roleEnough(op.roles, who.roles)) {
    // Refused for the role (before the account is looked at), or as a caller with the role would be.
    const withRole = expectedDenials(op, { ...who, roles: ROLES, grantRoles: who.grantRoles && ROLES }, side);
    return ['403 auth.forbidden', ...withRole];
  }
  if (op.scope === 'global') {
    return ['403 auth.forbidden'];
  }
  if (side === 'foreign' || side === 'ghost') {
    return ['404 account.not_found'];
  }
  const reachesA = who.claimsA || (who.grantRoles !== undefined && roleEnough(op.roles, who.grantRoles));
  if (side === 'mixed' && reachesA) {
    return ['404 order.not_found']; // A's id with B's order: no such order in A
  }
  return ['403 auth.forbidden']; // own account through a grant whose roles are not enough
}

function fill(op: Op, t: Target): string {
  return op.path
    .replace('{accountId}', t.accountId)
    .replace('{orderId}', t.orderId)
    .replace('{breakId}', t.breakId ?? GHOST)
    .replace('{subject}', 'x')
    .replace('{symbol}', 'SPY');
}

async function targetOf(op: Op, side: Side): Promise<Target> {
  const accountId = side === 'own' || side === 'mixed' ? A : side === 'foreign' ? B : GHOST;
  const orderAccount = side === 'own' ? A : B;
  const orderId =
    hasOrder(op) && op.freshOrder && side !== 'ghost' ? await restingOrder(orderAccount) : fixedOrder[orderAccount]!;
  // A fresh open position break of the account called on (each allowed call acknowledges one).
  const breakId = op.path.includes('{breakId}') && side !== 'ghost' ? await openBreak(accountId) : undefined;
  return { side, accountId, orderId, ...(breakId === undefined ? {} : { breakId }) };
}

/** An open position break of the account, as a reconciliation pass records one, in a symbol of its own. */
async function openBreak(accountId: string): Promise<string> {
  const runId = uuidv7();
  const id = uuidv7();
  await db.dataSource.query(
    `INSERT INTO reconciliation_runs (id, account_id, environment, trigger, instance_id, started_at)
     SELECT $1, id, environment, 'on_demand', 'matrix', now() FROM accounts WHERE id = $2`,
    [runId, accountId],
  );
  await db.dataSource.query(
    `INSERT INTO reconciliation_breaks (id, account_id, kind, symbol, venue, environment, ours, broker, status,
                                        found_run_id, found_at)
     SELECT $1, id, 'position', $3, 'paper', environment, 1, 2, 'open', $4, now() FROM accounts WHERE id = $2`,
    [id, accountId, `MATRIX${++counter}`, runId],
  );
  return id;
}

const is2xx = (status: number) => status >= 200 && status < 300;

async function runCell(op: Op, who: Caller, side: Side): Promise<Cell> {
  const t = await targetOf(op, side);
  await op.before?.(t);
  const ok = allowed(op, who, side);
  let before: string | null = null;
  if (!ok) {
    await settle();
    before = await snapshot();
  }
  const res = await who.api.request(op.method, fill(op, t), op.body?.(t));
  const code = res.body && typeof res.body === 'object' ? (res.body.code as string | undefined) : undefined;
  const problems: Cell['problems'] = [];
  const text = JSON.stringify(res.body ?? '');
  if (is2xx(res.status) && text.includes(B)) {
    problems.push({ kind: 'unauthorised', detail: `answer ${res.status} shows foreign account ${B}` });
  }
  if (ok) {
    if (!is2xx(res.status)) {
      problems.push({ kind: 'refused', detail: `${res.status} ${code ?? text.slice(0, 200)}` });
    }
  } else {
    if (is2xx(res.status)) {
      problems.push({ kind: 'unauthorised', detail: `answered ${res.status}` });
    } else if (!expectedDenials(op, who, side).includes(`${res.status} ${code}`)) {
      problems.push({
        kind: 'shape',
        detail: `${res.status} ${code}, expected ${expectedDenials(op, who, side).join(' | ')}`,
      });
    }
    await settle();
    const after = await snapshot();
    if (after !== before) {
      problems.push({ kind: 'unauthorised', detail: `the database changed (answer ${res.status})` });
    }
  }
  await op.after?.(t, res);
  return { op, caller: who, side, allowed: ok, status: res.status, code, problems };
}

/** The WebSocket rows: `orders` on own/foreign/nonexistent accounts, `quotes`, per caller. */
const WS_ORDERS: Op = { method: 'GET', path: '/v1/stream', variant: 'orders', roles: READ, scope: 'account' };
const WS_QUOTES: Op = { method: 'GET', path: '/v1/stream', variant: 'quotes', roles: READ, scope: 'none' };

async function wsAnswer(client: StreamClient, match: (m: any) => boolean): Promise<any> {
  const from = client.messages.length;
  try {
    return await client.waitFor((m) => client.messages.indexOf(m) >= from && (match(m) || m.type === 'error'), 5_000);
  } catch {
    return { type: 'closed', code: client.closeCode };
  }
}

function wsCell(op: Op, who: Caller, side: Side, answer: any, leaked: boolean): Cell {
  const ok = allowed(op, who, side);
  const status =
    answer.type === 'subscribed'
      ? 'sub'
      : answer.type === 'closed'
        ? String(answer.code)
        : answer.code === 'auth.forbidden'
          ? 'forb'
          : `e:${answer.code}`;
  const problems: Cell['problems'] = [];
  const succeeded = answer.type === 'subscribed';
  if (leaked) {
    problems.push({ kind: 'unauthorised', detail: `order events of foreign account ${B} arrived` });
  }
  if (ok && !succeeded) {
    problems.push({ kind: 'refused', detail: JSON.stringify(answer) });
  }
  if (!ok && succeeded) {
    problems.push({ kind: 'unauthorised', detail: 'subscribed' });
  }
  if (!ok && !succeeded) {
    // No token: closed 4401; a token with no role of the gateway: closed 4403 at `auth`; else an error frame.
    const want = who.anonymous ? '4401' : who.roles.length === 0 ? '4403' : 'forb';
    if (status !== want) {
      problems.push({ kind: 'shape', detail: `${status}, expected ${want}` });
    }
  }
  return { op, caller: who, side, allowed: ok, status, code: answer.code, problems };
}

async function wsCells(who: Caller): Promise<Cell[]> {
  if (who.anonymous) {
    // No `auth` first: whatever it asks, the connection is closed 4401.
    const cells: Cell[] = [];
    for (const [op, side, msg] of [
      [WS_ORDERS, 'own', { op: 'subscribe', channel: 'orders', accountId: A, fromSeq: 0 }],
      [WS_ORDERS, 'foreign', { op: 'subscribe', channel: 'orders', accountId: B, fromSeq: 0 }],
      [WS_QUOTES, 'own', { op: 'subscribe', channel: 'quotes', symbol: 'SPY' }],
    ] as const) {
      const client = await StreamClient.connect(gw.url);
      client.send(msg);
      const code = await client.waitForClose(5_000).catch(() => null);
      const leaked = client.orderEvents(B).length > 0;
      cells.push(wsCell(op, who, side, code === null ? { type: 'open' } : { type: 'closed', code }, leaked));
      client.close();
    }
    return cells;
  }
  if (who.roles.length === 0) {
    // A token with no role may not even read: the `auth` itself is refused, 4403.
    const client = await StreamClient.connect(gw.url);
    client.send({ op: 'auth', token: who.token });
    const code = await client.waitForClose(5_000).catch(() => null);
    const closed = code === null ? { type: 'open' } : { type: 'closed', code };
    return [
      wsCell(WS_ORDERS, who, 'own', closed, false),
      wsCell(WS_ORDERS, who, 'foreign', closed, false),
      wsCell(WS_ORDERS, who, 'ghost', closed, false),
      wsCell(WS_QUOTES, who, 'own', closed, false),
    ];
  }
  const client = await StreamClient.connect(gw.url);
  try {
    await client.authenticate(who.token!);
    const cells: Cell[] = [];
    for (const [side, accountId] of [
      ['own', A],
      ['foreign', B],
      ['ghost', GHOST],
    ] as const) {
      client.send({ op: 'subscribe', channel: 'orders', accountId, fromSeq: 0 });
      const answer = await wsAnswer(client, (m) => m.type === 'subscribed' && m.accountId === accountId);
      cells.push(wsCell(WS_ORDERS, who, side, answer, false));
    }
    client.send({ op: 'subscribe', channel: 'quotes', symbol: 'SPY' });
    cells.push(wsCell(WS_QUOTES, who, 'own', await wsAnswer(client, (m) => m.type === 'subscribed'), false));
    // A foreign subscription that slipped through would replay B's events (fromSeq 0): give them time.
    await sleep(200);
    if (client.orderEvents(B).length > 0) {
      cells[1] = wsCell(WS_ORDERS, who, 'foreign', { type: 'subscribed' }, true);
    }
    return cells;
  } finally {
    client.close();
  }
}

function printMatrix(cells: Cell[], rows: Op[]): string {
  const mark = (c: Cell) =>
    c.problems.some((p) => p.kind === 'unauthorised')
      ? '!'
      : c.problems.some((p) => p.kind === 'refused')
        ? '*'
        : c.problems.length > 0
          ? '?'
          : '';
  const w = 6;
  const labelWidth = Math.max(...rows.map((r) => rowLabel(r).length)) + 1;
  const head1 = ''.padEnd(labelWidth) + callers.map((c) => `| ${c.name.padEnd(w * SHOWN_SIDES.length - 1)}`).join('');
  const head2 =
    ''.padEnd(labelWidth) +
    callers.map(() => `| ${SHOWN_SIDES.map((s) => SIDE_LABEL[s].padEnd(w)).join('')}`.slice(0, -1)).join('');
  const lines = [head1, head2, '-'.repeat(head1.length)];
  for (const op of rows) {
    let line = rowLabel(op).padEnd(labelWidth);
    for (const who of callers) {
      const parts = SHOWN_SIDES.map((side) => {
        const c = cells.find((x) => x.op === op && x.caller === who && x.side === side);
        return (c ? `${c.status}${mark(c)}` : '·').padEnd(w);
      });
      line += `| ${parts.join('')}`.slice(0, -1);
    }
    lines.push(line);
  }
  return lines.join('\n');
}

beforeAll(async () => {
  db = await createTestDatabase();
  // The foreign account, made before the gateway starts so that it finds it like any other.
  B = await createAccount(db.dataSource, 'matrix-foreign');
  gw = await startGatewayProcess({
    DATABASE_URL: db.url,
    REDIS_PREFIX: redisPrefix(),
    LOG_LEVEL: 'warn',
    // Hundreds of deliberately refused calls from one address: keep the abuse limit out of the matrix.
    RATE_LIMIT_UNAUTHENTICATED: '100000/1s,1000000/1m',
    // POST …/broker-connection builds an authorize URL only: no broker is called.
    OAUTH_SCHWAB_CLIENT_ID: 'matrix-client',
    OAUTH_SCHWAB_CLIENT_SECRET: 'matrix-secret',
    OAUTH_SCHWAB_REDIRECT_URI: 'http://127.0.0.1:9/v1/oauth/schwab/callback',
  });
  A = gw.accountId;
  const sign = (sub: string, roles: Role[], accounts: string[]) =>
    signWithDevKey(db.dataSource, { sub, roles, accounts });
  star.trader = new Api(gw.url, await sign('matrix-star-trader', ['trader'], ['*']));
  star.risk = new Api(gw.url, await sign('matrix-star-risk', ['risk'], ['*']));
  star.admin = new Api(gw.url, await sign('matrix-star-admin', ['admin'], ['*']));
  for (const who of callers) {
    if (!who.anonymous) {
      who.token = await sign(`matrix-${who.name.replace(':', '-')}`, [...who.roles], who.claimsA ? [A] : []);
    }
    who.api = new Api(gw.url, who.token);
    if (who.grantRoles) {
      const res = await star.admin.request('PUT', `/v1/accounts/${A}/grants/matrix-${who.name.replace(':', '-')}`, {
        roles: who.grantRoles,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
  }
  for (const id of [A, B]) {
    fixedOrder[id] = await restingOrder(id);
    const limits = await star.risk.get(`/v1/accounts/${id}/risk-limits`);
    expect(limits.status, JSON.stringify(limits.body)).toBe(200);
    limitsBody[id] = limits.body.limits;
  }
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await db?.drop();
});

describe('access matrix (BOLA/BFLA)', () => {
  it('refuses every unauthorised route, account and channel for every role', { timeout: 90_000 }, async () => {
    const started = Date.now();
    // Every /v1 operation of the OpenAPI document, and no other, is in the table.
    const doc = (await new Api(gw.url).get('/docs/openapi.json')).body;
    const documented: { key: string; summary: string }[] = [];
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const method of ['get', 'put', 'post', 'patch', 'delete']) {
        if (path.startsWith('/v1') && item[method] && item[method].security?.length === 0) {
          expect(PUBLIC_V1).toContain(`${method.toUpperCase()} ${path}`);
        } else if (path.startsWith('/v1') && item[method]) {
          documented.push({ key: `${method.toUpperCase()} ${path}`, summary: String(item[method].summary ?? '') });
        }
      }
    }
    expect([...new Set(OPS.map(opKey))].sort()).toEqual(documented.map((d) => d.key).sort());
    // The roles of the table are the roles the document names (`(role a or b)`; none named: any role reads).
    for (const d of documented) {
      const named = /\(role ([a-z]+(?: or [a-z]+)*)/.exec(d.summary)?.[1]?.split(' or ') ?? READ;
      for (const op of OPS.filter((o) => opKey(o) === d.key)) {
        expect(op.roles, `${d.key}: ${d.summary}`).toEqual(named);
      }
    }
    const channels = [...String(doc['x-websocket']?.description ?? '').matchAll(/channel:"(\w+)"/g)].map((m) => m[1]);
    expect([...new Set(channels)].sort()).toEqual(['orders', 'quotes']);

    const cells: Cell[] = [];
    const ordered = [...OPS.filter((o) => !o.last), ...OPS.filter((o) => o.last)];
    for (const op of ordered) {
      if (op.last && op === ordered.find((o) => o.last)) {
        // The kill switch halts and cancels: nothing left working for it to cancel under the next cells.
        expect((await star.trader.delete(`/v1/accounts/${A}/orders`)).status).toBe(202);
        expect((await star.trader.delete(`/v1/accounts/${B}/orders`)).status).toBe(202);
        await settle();
      }
      for (const who of callers) {
        for (const side of sidesOf(op)) {
          cells.push(await runCell(op, who, side));
        }
      }
    }
    for (const who of callers) {
      cells.push(...(await wsCells(who)));
    }

    // A foreign account must answer exactly as one that does not exist.
    const leaks: string[] = [];
    for (const c of cells.filter((x) => x.side === 'foreign')) {
      const ghost = cells.find((x) => x.op === c.op && x.caller === c.caller && x.side === 'ghost');
      if (ghost && `${ghost.status} ${ghost.code}` !== `${c.status} ${c.code}`) {
        leaks.push(
          `${rowLabel(c.op)} as ${c.caller.name}: foreign ${c.status} ${c.code} vs missing ${ghost.status} ${ghost.code}`,
        );
      }
    }

    const rows = [...OPS, WS_ORDERS, WS_QUOTES];
    const shown = cells.filter((c) => c.side !== 'ghost');
    const list = (kind: Cell['problems'][number]['kind']) =>
      cells.flatMap((c) =>
        c.problems
          .filter((p) => p.kind === kind)
          .map((p) => `${rowLabel(c.op)} as ${c.caller.name} on ${SIDE_LABEL[c.side]}: ${p.detail}`),
      );
    const unauthorisedCells = cells.filter((c) => c.problems.some((p) => p.kind === 'unauthorised'));
    const unauthorised = unauthorisedCells.map(
      (c) =>
        `${rowLabel(c.op)} as ${c.caller.name} on ${SIDE_LABEL[c.side]}: ` +
        c.problems
          .filter((p) => p.kind === 'unauthorised')
          .map((p) => p.detail)
          .join('; '),
    );
    const byCaller = callers
      .map((who) => `${who.name} ${unauthorisedCells.filter((c) => c.caller === who).length}`)
      .join(', ');
    const refused = list('refused');
    const shapes = list('shape');
    const denied = cells.filter((c) => !c.allowed);
    console.log(
      [
        `BOLA/BFLA access matrix: A = ${A} (granted), B = ${B} (foreign); own = A, for = B, A/oB = A's id with B's order`,
        `callers: anon (no token), none (token with no role), viewer/trader/risk/admin (accounts [A]),`,
        `grant:vw (all four roles, accounts [], database grant viewer on A). WS: sub = subscribed, forb = error auth.forbidden, 4401 = closed.`,
        `marks: ! unauthorised success, * allowed but refused, ? refused with an unexpected status/code, · not applicable`,
        '',
        printMatrix(shown, rows),
        '',
        `${cells.length} cells (${rows.length} rows x ${callers.length} callers; ${cells.length - shown.length} ` +
          `nonexistent-account cells compared with the foreign ones): ${cells.length - denied.length} expected allowed, ` +
          `${denied.length} expected denied (${cells.filter((c) => c.side === 'foreign' || c.side === 'mixed').length} ` +
          `foreign or cross-account).`,
        `unauthorised successes: ${unauthorised.length} (by caller: ${byCaller}); allowed but refused: ${refused.length}; ` +
          `denials with an unexpected status/code: ${shapes.length}; foreign vs missing account differences: ${leaks.length}.`,
        ...unauthorised.map((u) => `  UNAUTHORISED ${u}`),
        ...refused.map((u) => `  REFUSED ${u}`),
        ...shapes.map((u) => `  SHAPE ${u}`),
        ...leaks.map((u) => `  EXISTENCE ${u}`),
        `matrix time: ${Date.now() - started} ms`,
      ].join('\n'),
    );

    // No foreign, cross-account or nonexistent-account cell ever succeeds, for any caller.
    const succeeded = (c: Cell) => c.status === 'sub' || (typeof c.status === 'number' && is2xx(c.status));
    const foreignSuccesses = cells.filter((c) => c.side !== 'own' && succeeded(c));
    expect(foreignSuccesses.map((c) => `${rowLabel(c.op)} as ${c.caller.name} on ${SIDE_LABEL[c.side]}`)).toEqual([]);
    expect.soft(refused, 'allowed calls refused (the matrix must show real successes)').toEqual([]);
    expect.soft(shapes, 'refusals with another status or code than the rules give').toEqual([]);
    expect.soft(leaks, 'a foreign account answering unlike a missing one').toEqual([]);
    expect(unauthorised, 'unauthorised successes').toEqual([]);
  });

  it('has a row for every /v1 route Nest registers, so a route missing from the table and the document fails', async () => {
    // Nest's own route table (the application module in preview mode), not the document: a route added to a
    // controller but to neither the document nor OPS is caught here.
    const registered = (await registeredRoutes()).filter((r) => r.path.startsWith('/v1'));
    expect(registered.length).toBeGreaterThanOrEqual(30);
    const keys = [...new Set(registered.map((r) => `${r.method} ${r.path}`))].sort();
    expect(keys).toEqual([...new Set([...OPS.map(opKey), ...PUBLIC_V1])].sort());
    const doc = (await new Api(gw.url).get('/docs/openapi.json')).body;
    const served = Object.entries<any>(doc.paths).flatMap(([path, item]) =>
      ['get', 'put', 'post', 'patch', 'delete'].filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${path}`),
    );
    for (const r of registered) {
      expect(served, `${r.method} ${r.path} is not in the served document`).toContain(`${r.method} ${r.path}`);
      const op = doc.paths[r.path][r.method.toLowerCase()];
      expect(Object.keys(op.responses), `${r.method} ${r.path}: its ${r.status} answer`).toContain(String(r.status));
    }
  });
});
