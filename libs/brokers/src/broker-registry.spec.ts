import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
// The fake broker itself: the paper-http adapter is tested against the real server, at its own protocol.
import { type PaperVenueServer, ReportLog, startPaperVenueServer } from '../../../apps/paper-venue/src/server.js';
import {
  type BrokerAdapter,
  type BrokerConnectionChange,
  BrokerNotConfiguredError,
  BrokerRegistry,
  EnvironmentNotServedError,
} from './broker-registry.js';
import type { ConnectionChange, ExecutionClient } from './execution-client.js';
import type { ExecutionReport } from './reports.js';
import { resolveMarketDataDir } from './paper/market-data-dir.js';
import { loadMarketData } from './paper/market-data-loader.js';
import { defaultMarketDataSets } from './paper/market-data-sets.js';
import { MarketReplay } from './paper/market-replay.js';
import { paperHttpAdapter } from './paper/paper-http-adapter.js';
import { PaperVenue } from './paper/paper-venue.js';
import { FaultyVenue } from './testing/faulty-venue.js';
import { submitOrders } from './testing/submit-orders.js';

const data = loadMarketData(
  resolveMarketDataDir(fileURLToPath(new URL('../../../', import.meta.url))),
  defaultMarketDataSets(),
);

const open: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) {
    await thing.close();
  }
});

const order = submitOrders('reg');
const account = (id: string, broker: string, environment: 'paper' | 'live' = 'paper') => ({
  id,
  broker,
  environment,
  brokerAccountId: null,
});

/** A paper-venue server (a fake broker over HTTP) whose report log outlives the server, as a process's would. */
async function venueServer(port = 0): Promise<{ venue: FaultyVenue; server: PaperVenueServer; log: ReportLog }> {
  const replay = new MarketReplay({ data, paused: true, startTime: '09:30:05' });
  const venue = new FaultyVenue(replay, { ackLatencyMs: 1 });
  const log = new ReportLog(venue);
  const server = await startPaperVenueServer({ venue, reportLog: log, port });
  open.push(venue, log, server);
  return { venue, server, log };
}

const httpAdapter = (url: string, venue: string) =>
  paperHttpAdapter({ baseUrl: url, venue, pollWaitMs: 500, retryInitialMs: 10, retryMaxMs: 40, onError: () => {} });

/**
 * An account-scoped adapter standing in for a credential-based broker: one in-process paper venue per
 * account, built after reading the account's secrets (what it was handed is recorded).
 */
function perAccountAdapter(built: { accountId: string | null; secrets: unknown }[]): BrokerAdapter<string> {
  return {
    name: 'per-account-test',
    scope: 'account',
    environments: ['paper', 'live'],
    create: async ({ account, secrets }) => {
      built.push({ accountId: account?.id ?? null, secrets: await secrets() });
      const venue = new PaperVenue(new MarketReplay({ data, paused: true, startTime: '09:30:05' }), {
        ackLatencyMs: 1,
      });
      return { client: venue, close: () => Promise.resolve(venue.close()) };
    },
  };
}

describe('BrokerRegistry', () => {
  it('gives each account the client of its broker: one per broker-scoped broker, reports of all of them to one listener', async () => {
    const paper = await venueServer();
    const alpaca = await venueServer();
    const registry = new BrokerRegistry({
      brokers: { paper: httpAdapter(paper.server.url, 'paper'), alpaca: httpAdapter(alpaca.server.url, 'alpaca') },
    });
    open.push(registry);
    expect(registry.brokers()).toEqual(['paper', 'alpaca']);
    const reports: [string, string, string][] = [];
    registry.onExecutionReport((r: ExecutionReport, from) => reports.push([from.key, r.venue, r.clientOrderId]));

    const [a1, a2, b1] = await Promise.all([
      registry.clientFor(account('a1', 'paper')),
      registry.clientFor(account('a2', 'paper')),
      registry.clientFor(account('b1', 'alpaca')),
    ]);
    expect(a1).toBe(a2);
    expect(b1).not.toBe(a1);
    expect([a1.venue, b1.venue]).toEqual(['paper', 'alpaca']);
    expect(registry.clients().map((c) => c.key)).toEqual(['paper', 'alpaca']);

    await Promise.all([
      a1.submitOrder(order({ clientOrderId: 'at-paper' })),
      b1.submitOrder(order({ clientOrderId: 'at-alpaca' })),
    ]);
    expect(paper.venue.orderRecord('at-paper')).not.toBeNull();
    expect(paper.venue.orderRecord('at-alpaca')).toBeNull();
    expect(alpaca.venue.orderRecord('at-alpaca')).not.toBeNull();
    await vi.waitFor(() => expect(reports).toHaveLength(4));
    expect(reports.filter(([, , id]) => id === 'at-paper').every(([k, v]) => k === 'paper' && v === 'paper')).toBe(
      true,
    );
    expect(reports.filter(([, , id]) => id === 'at-alpaca').every(([k, v]) => k === 'alpaca' && v === 'alpaca')).toBe(
      true,
    );
  });

  it('builds an account-scoped client per account, lazily, once, with that account’s secrets; broker-scoped ones never ask', async () => {
    const paper = await venueServer();
    const built: { accountId: string | null; secrets: unknown }[] = [];
    const asked: string[] = [];
    const secretsOf = (id: string) => () => {
      asked.push(id);
      return Promise.resolve(`secret-of-${id}`);
    };
    const registry = new BrokerRegistry<string>({
      brokers: { paper: httpAdapter(paper.server.url, 'paper'), schwab: perAccountAdapter(built) },
    });
    open.push(registry);
    await registry.open(); // builds the broker-scoped clients only
    expect(registry.clients().map((c) => c.key)).toEqual(['paper']);
    expect(built).toEqual([]);

    await registry.clientFor(account('p1', 'paper'), secretsOf('p1'));
    const [s1, again, s2] = await Promise.all([
      registry.clientFor(account('s1', 'schwab', 'live'), secretsOf('s1')),
      registry.clientFor(account('s1', 'schwab', 'live'), secretsOf('s1')),
      registry.clientFor(account('s2', 'schwab', 'live'), secretsOf('s2')),
    ]);
    expect(s1).toBe(again);
    expect(s2).not.toBe(s1);
    expect(built).toEqual([
      { accountId: 's1', secrets: 'secret-of-s1' },
      { accountId: 's2', secrets: 'secret-of-s2' },
    ]);
    expect(asked).toEqual(['s1', 's2']); // never for the paper account, once per account-scoped client
    expect(registry.keyOf(account('s1', 'schwab'))).toEqual({ broker: 'schwab', accountId: 's1', key: 'schwab/s1' });
    expect(registry.keyOf(account('p1', 'paper'))).toEqual({ broker: 'paper', accountId: null, key: 'paper' });
  });

  it('refuses a broker that is not configured and an environment its adapter does not serve', async () => {
    const paper = await venueServer();
    const registry = new BrokerRegistry({ brokers: { paper: httpAdapter(paper.server.url, 'paper') } });
    open.push(registry);
    await expect(registry.clientFor(account('x', 'kalshi'))).rejects.toThrow(BrokerNotConfiguredError);
    await expect(registry.clientFor(account('x', 'kalshi'))).rejects.toThrow(/kalshi is not configured.*has paper/);
    await expect(registry.clientFor(account('l', 'paper', 'live'))).rejects.toThrow(EnvironmentNotServedError);
    expect(registry.serves('paper', 'paper')).toBe(true);
    expect(registry.serves('paper', 'live')).toBe(false);
    expect(registry.serves('kalshi', 'paper')).toBe(false);
    expect(registry.clients()).toEqual([]);
  });

  it('does not cache a client whose build failed: the next call builds again', async () => {
    let attempts = 0;
    const registry = new BrokerRegistry({
      brokers: {
        flaky: {
          name: 'flaky',
          scope: 'broker',
          environments: ['paper'],
          create: () => {
            attempts += 1;
            if (attempts === 1) {
              return Promise.reject(new Error('broker login failed'));
            }
            const venue = new PaperVenue(new MarketReplay({ data, paused: true }), { ackLatencyMs: 1 });
            return Promise.resolve({ client: venue, close: () => Promise.resolve(venue.close()) });
          },
        },
      },
    });
    open.push(registry);
    await expect(registry.clientFor(account('f', 'flaky'))).rejects.toThrow('broker login failed');
    expect(registry.clients()).toEqual([]);
    const client = await registry.clientFor(account('f', 'flaky'));
    expect(client.venue).toBe('paper');
    expect(attempts).toBe(2);
  });

  it('tells the connection changes of each broker apart: one broker down and back, the other untouched', async () => {
    const paper = await venueServer();
    const alpaca = await venueServer();
    const registry = new BrokerRegistry({
      brokers: { paper: httpAdapter(paper.server.url, 'paper'), alpaca: httpAdapter(alpaca.server.url, 'alpaca') },
    });
    open.push(registry);
    const changes: BrokerConnectionChange[] = [];
    registry.onConnectionChange((c) => changes.push(c));
    registry.onExecutionReport(() => {}); // the report streams run once someone takes their reports
    await registry.open();

    const port = Number(new URL(alpaca.server.url).port);
    await alpaca.server.close();
    await vi.waitFor(() => expect(changes).toHaveLength(1));
    expect(changes[0]).toMatchObject({ broker: 'alpaca', accountId: null, key: 'alpaca', connected: false });
    expect((changes[0] as { reason: string }).reason).toMatch(/network error/);

    const back = await startPaperVenueServer({ venue: alpaca.venue, reportLog: alpaca.log, port });
    open.push(back);
    await vi.waitFor(() => expect(changes).toHaveLength(2));
    expect(changes[1]).toEqual({ broker: 'alpaca', accountId: null, key: 'alpaca', connected: true });
    expect(changes.every((c) => c.broker === 'alpaca')).toBe(true);
  });

  it('delivers nothing before it has a report listener, and then every report (a client built before its consumer loses none)', async () => {
    const paper = await venueServer();
    const registry = new BrokerRegistry({ brokers: { paper: httpAdapter(paper.server.url, 'paper') } });
    open.push(registry);
    await registry.open();
    await paper.venue.submitOrder(order({ clientOrderId: 'before-listener' }));
    const seen: string[] = [];
    registry.onExecutionReport((r) => seen.push(`${r.clientOrderId}:${r.execType}`));
    await vi.waitFor(() => expect(seen).toEqual(['before-listener:new', 'before-listener:trade']));
  });

  it('closes every client on close() and refuses to build afterwards', async () => {
    const closed: string[] = [];
    const adapter = (name: string): BrokerAdapter => ({
      name,
      scope: 'account',
      environments: ['paper'],
      create: ({ account: a }) => {
        const venue = new PaperVenue(new MarketReplay({ data, paused: true }), { ackLatencyMs: 1 });
        return Promise.resolve({
          client: venue,
          close: () => {
            closed.push(`${name}/${a!.id}`);
            venue.close();
            return Promise.resolve();
          },
        });
      },
    });
    const registry = new BrokerRegistry({ brokers: { one: adapter('one'), two: adapter('two') } });
    await registry.clientFor(account('a', 'one'));
    await registry.clientFor(account('b', 'two'));
    await registry.close();
    expect(closed.sort()).toEqual(['one/a', 'two/b']);
    await expect(registry.clientFor(account('a', 'one'))).rejects.toThrow(/closed/);
  });

  it('of(client): one broker, named as the client’s venue, serving every account of it', async () => {
    const venue = new PaperVenue(new MarketReplay({ data, paused: true }), { ackLatencyMs: 1 });
    open.push(venue);
    const registry = BrokerRegistry.of(venue);
    expect(registry.brokers()).toEqual(['paper']);
    expect(await registry.clientFor(account('x', 'paper', 'live'))).toBe(venue);
  });

  it('evict(key): the next clientFor builds anew with the new secrets; the old client reports until then, then is closed', async () => {
    /** A client whose reports and connection changes the test emits; it records its close. */
    class StubClient {
      readonly venue = 'keyed';
      readonly reports = new Set<(r: ExecutionReport) => void>();
      readonly changes = new Set<(c: ConnectionChange) => void>();
      closed = false;
      constructor(readonly secret: string) {}
      onExecutionReport(listener: (r: ExecutionReport) => void): () => void {
        this.reports.add(listener);
        return () => this.reports.delete(listener);
      }
      onConnectionChange(listener: (c: ConnectionChange) => void): () => void {
        this.changes.add(listener);
        return () => this.changes.delete(listener);
      }
      report(execId: string): void {
        for (const l of this.reports) {
          l({ execId } as unknown as ExecutionReport);
        }
      }
      drop(): void {
        for (const l of this.changes) {
          l({ connected: false, reason: 'dropped' });
        }
      }
    }
    const built: StubClient[] = [];
    let stored = 'old-keys';
    const registry = new BrokerRegistry<string>({
      brokers: {
        keyed: {
          name: 'stub',
          scope: 'account',
          environments: ['paper'],
          create: async ({ secrets }) => {
            const secret = (await secrets())!;
            if (secret === 'wrong-keys') {
              throw new Error('refused');
            }
            const client = new StubClient(secret);
            built.push(client);
            return {
              client: client as unknown as ExecutionClient,
              close: () => {
                client.closed = true;
                return Promise.resolve();
              },
            };
          },
        },
      },
    });
    open.push(registry);
    const reports: string[] = [];
    const changes: BrokerConnectionChange[] = [];
    registry.onExecutionReport((r, from) => reports.push(`${from.key}:${(r as unknown as { execId: string }).execId}`));
    registry.onConnectionChange((c) => changes.push(c));
    const secrets = () => Promise.resolve(stored);
    const acct = account('a', 'keyed');
    const first = (await registry.clientFor(acct, secrets)) as unknown as StubClient;
    expect(first.secret).toBe('old-keys');
    const key = registry.keyOf(acct).key;
    expect(registry.evict('keyed/nobody')).toBe(false);

    stored = 'wrong-keys';
    expect(registry.evict(key)).toBe(true);
    // Evicted: its reports still arrive, its connection changes no longer do; it is not closed yet.
    first.report('e1');
    first.drop();
    expect(reports).toEqual(['keyed/a:e1']);
    expect(changes).toEqual([]);
    expect(first.closed).toBe(false);
    expect(registry.clients().map((c) => c.key)).toEqual([key]);
    // The replacement cannot be built (wrong keys): the old one keeps reporting, the next call tries again.
    await expect(registry.clientFor(acct, secrets)).rejects.toThrow('refused');
    first.report('e2');
    expect(first.closed).toBe(false);

    stored = 'new-keys';
    const second = (await registry.clientFor(acct, secrets)) as unknown as StubClient;
    expect(second).not.toBe(first);
    expect(second.secret).toBe('new-keys');
    await vi.waitFor(() => expect(first.closed).toBe(true));
    first.report('lost-after-close'); // unsubscribed: nothing reaches the listener
    second.report('e3');
    expect(reports).toEqual(['keyed/a:e1', 'keyed/a:e2', 'keyed/a:e3']);
    expect(await registry.clientFor(acct, secrets)).toBe(second as unknown as ExecutionClient);

    // Closing the registry closes an evicted client that was never replaced too.
    registry.evict(key);
    await registry.close();
    expect(second.closed).toBe(true);
  });
});
