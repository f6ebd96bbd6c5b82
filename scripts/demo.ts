/**
 * `npm run demo`: drives a running gateway like a client would. Over REST it places a marketable SPY buy,
 * a passive SPY limit that fills later in the replay, an SPXW 0DTE call order and a limit it then
 * cancels; over the WebSocket stream it prints every order event and fill with its price.
 * Finds the `paper-demo` account and mints its own dev token (same DATABASE_URL as the gateway), or
 * uses GATEWAY_URL, ACCOUNT_ID and TOKEN when they are set.
 */
import { randomBytes } from 'node:crypto';
import { Decimal } from '@gateway/oms';
import { WebSocket } from 'ws';
import { DevIssuer } from '../apps/gateway/src/auth/dev-issuer.js';
import { DEMO_ACCOUNT } from '../apps/gateway/src/bootstrap.js';
import { loadConfig } from '../apps/gateway/src/config/config.js';
import { openDatabase } from '../apps/gateway/src/database/data-source.js';
import { AccountEntity } from '../apps/gateway/src/database/entities.js';

interface Quote {
  bid: string;
  ask: string;
  askSize: string;
  ts: string;
}

async function credentials(): Promise<{ url: string; accountId: string; token: string }> {
  const config = loadConfig();
  const url = process.env.GATEWAY_URL ?? `http://127.0.0.1:${config.port}`;
  if (process.env.ACCOUNT_ID && process.env.TOKEN) {
    return { url, accountId: process.env.ACCOUNT_ID, token: process.env.TOKEN };
  }
  const dataSource = await openDatabase(config.databaseUrl);
  try {
    const account = await dataSource.getRepository(AccountEntity).findOne({ where: { name: DEMO_ACCOUNT } });
    if (!account) {
      throw new Error(`no ${DEMO_ACCOUNT} account yet: start the gateway first (npm start)`);
    }
    const issuer = await DevIssuer.load(dataSource, config.auth.issuer, config.auth.audience);
    const token = await issuer.sign({ subject: 'demo', roles: ['trader'], accounts: [account.id], ttlSeconds: 3600 });
    return { url, accountId: account.id, token };
  } finally {
    await dataSource.destroy();
  }
}

async function main(): Promise<void> {
  const { url, accountId, token } = await credentials();
  const run = randomBytes(3).toString('hex');
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = (await res.json()) as Record<string, any>;
    if (res.status >= 400) {
      throw new Error(`${method} ${path} → ${res.status} ${json.code}: ${json.detail ?? json.title}`);
    }
    return json;
  };
  const orders = `/v1/accounts/${accountId}/orders`;

  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/stream`);
  /** Called when the order of that id reaches a final status; ids that got there before anyone waited. */
  const done = new Map<string, () => void>();
  const finishedIds = new Set<string>();
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString()) as Record<string, any>;
    if (m.type !== 'order') {
      return;
    }
    const o = m.order;
    const fill = m.execution ? `  fill ${m.execution.quantity} @ ${m.execution.price}` : '';
    console.log(`  [seq ${m.seq}] ${o.clientOrderId.padEnd(22)} ${m.event.padEnd(16)} ${o.status.padEnd(16)}${fill}`);
    if (['filled', 'canceled', 'rejected', 'expired', 'unknown'].includes(o.status)) {
      finishedIds.add(o.id as string);
      done.get(o.id)?.();
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ op: 'auth', token }));
  ws.send(JSON.stringify({ op: 'subscribe', channel: 'orders', accountId }));
  await new Promise((r) => setTimeout(r, 300));

  const place = async (label: string, body: Record<string, unknown>, waitMs = 15_000) => {
    const order = await call('POST', orders, { clientOrderId: `demo-${run}-${label}`, ...body });
    const id = order.id as string;
    // Waits for the stream to say the order is final, or `waitMs`; the timer is cleared either way, so
    // nothing keeps the process alive once the demo is done.
    const finished = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      done.set(id, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (finishedIds.has(id) || ['filled', 'canceled', 'rejected'].includes(order.status as string)) {
      done.get(id)?.();
    }
    return { order, finished };
  };

  const spy = (await call('GET', '/v1/quotes/SPY')) as unknown as Quote;
  console.log(`SPY quote at ${spy.ts}: bid ${spy.bid} / ask ${spy.ask} (${spy.askSize} shares)`);

  console.log('\n1. Marketable SPY buy, 100 shares at market');
  await (
    await place('spy-mkt', { symbol: 'SPY', side: 'buy', quantity: '100', type: 'market' })
  ).finished;

  console.log('\n2. SPXW 0DTE 3700 call, buy 1 contract at market');
  const option = 'SPXW  210104C03700000';
  const oq = (await call('GET', `/v1/quotes/${encodeURIComponent(option)}`)) as unknown as Quote;
  console.log(`   ${option} quote: bid ${oq.bid} / ask ${oq.ask}`);
  await (
    await place('spxw-call', { symbol: option, side: 'buy', quantity: '1', type: 'market' })
  ).finished;

  console.log('\n3. A limit far below the market, then its cancel');
  const far = new Decimal(spy.bid).minus(1).toFixed(2);
  const { order: resting } = await place(
    'spy-cancel',
    { symbol: 'SPY', side: 'buy', quantity: '10', type: 'limit', limitPrice: far },
    0,
  );
  await new Promise((r) => setTimeout(r, 300));
  await call('DELETE', `${orders}/${resting.id}`);
  await new Promise((r) => setTimeout(r, 500));

  console.log('\n4. A passive SPY limit one cent under the bid; waiting for the replay to trade through it');
  const now = (await call('GET', '/v1/quotes/SPY')) as unknown as Quote;
  const passive = new Decimal(now.bid).minus('0.01').toFixed(2);
  const p = await place(
    'spy-passive',
    { symbol: 'SPY', side: 'buy', quantity: '50', type: 'limit', limitPrice: passive },
    120_000,
  );
  await p.finished;

  const positions = await call('GET', `/v1/accounts/${accountId}/positions`);
  console.log('\nPositions:');
  for (const pos of positions.positions as {
    symbol: string;
    quantity: string;
    averagePrice: string;
    realizedPnl: string;
  }[]) {
    console.log(
      `  ${pos.symbol.padEnd(22)} qty ${pos.quantity.padStart(6)}  avg ${pos.averagePrice}  realised ${pos.realizedPnl}`,
    );
  }
  ws.close();
}

main().catch((error: unknown) => {
  console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
