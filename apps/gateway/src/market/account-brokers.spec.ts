import { fileURLToPath } from 'node:url';
import {
  type BrokerAdapter,
  type BrokerConnectionChange,
  BrokerRegistry,
  defaultMarketDataSets,
  loadMarketData,
  MarketReplay,
  paperHttpAdapter,
  PaperVenue,
  resolveMarketDataDir,
} from '@gateway/brokers';
import { FaultyVenue } from '@gateway/brokers/testing';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
// The fake broker at its own protocol: a paper-venue server standing in for a second broker.
import { ReportLog, startPaperVenueServer } from '../../../paper-venue/src/server.js';
import { ApiError } from '../common/api-error.js';
import type {
  BrokerSecrets,
  CredentialOwner,
  CredentialSummary,
  CredentialVault,
} from '../credentials/broker-secrets.js';
import { AccountBrokers } from './account-brokers.js';

const data = loadMarketData(
  resolveMarketDataDir(fileURLToPath(new URL('../../../../', import.meta.url))),
  defaultMarketDataSets(),
);
const logger = pino({ level: 'silent' });
const open: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) {
    await thing.close();
  }
});

const account = (id: string, broker: string, environment: 'paper' | 'live' = 'paper') => ({
  id,
  broker,
  environment,
  brokerAccountId: null,
});

/** A credential store in memory that records which owners were read (the port, not the KMS vault). */
class RecordingVault implements CredentialVault {
  readonly loaded: CredentialOwner[] = [];
  store(): Promise<void> {
    return Promise.resolve();
  }
  load(owner: CredentialOwner): Promise<BrokerSecrets | null> {
    this.loaded.push(owner);
    return Promise.resolve({ kind: 'api_key', keyId: `key-${owner.accountId}`, secret: 'not-logged' });
  }
  forget(): Promise<boolean> {
    return Promise.resolve(false);
  }
  list(): Promise<CredentialSummary[]> {
    return Promise.resolve([]);
  }
}

async function venueServer(port = 0) {
  const venue = new FaultyVenue(new MarketReplay({ data, paused: true, startTime: '09:30:05' }), { ackLatencyMs: 1 });
  const log = new ReportLog(venue);
  const server = await startPaperVenueServer({ venue, reportLog: log, port });
  open.push(venue, log, server);
  return { venue, log, server };
}

const http = (url: string, venue: string) =>
  paperHttpAdapter<BrokerSecrets>({
    baseUrl: url,
    venue,
    pollWaitMs: 500,
    retryInitialMs: 10,
    retryMaxMs: 40,
    onError: () => {},
  });

describe('AccountBrokers', () => {
  it("blocks entries on a disconnected broker's accounts only, keeps them blocked once it is back until restored", async () => {
    const paper = await venueServer();
    const alpaca = await venueServer();
    const registry = new BrokerRegistry<BrokerSecrets>({
      brokers: { paper: http(paper.server.url, 'paper'), alpaca: http(alpaca.server.url, 'alpaca') },
    });
    open.push(registry);
    const brokers = new AccountBrokers(registry, logger);
    registry.onExecutionReport(() => {}); // the report streams (the connection's probe) run for a consumer
    await registry.open();
    const reconnected: BrokerConnectionChange[] = [];
    brokers.onReconnected((c) => reconnected.push(c));
    const [onPaper, onAlpaca] = [account('p', 'paper'), account('a', 'alpaca')];
    expect(brokers.entriesBlockedReason(onAlpaca)).toBeNull();

    const port = Number(new URL(alpaca.server.url).port);
    await alpaca.server.close();
    await vi.waitFor(() => expect(brokers.entriesBlockedReason(onAlpaca)).toMatch(/^broker alpaca is disconnected/));
    expect(brokers.entriesBlockedReason(onPaper)).toBeNull();
    expect(reconnected).toEqual([]);

    open.push(await startPaperVenueServer({ venue: alpaca.venue, reportLog: alpaca.log, port }));
    await vi.waitFor(() => expect(reconnected).toHaveLength(1));
    expect(reconnected[0]).toMatchObject({ broker: 'alpaca', key: 'alpaca', connected: true });
    expect(brokers.entriesBlockedReason(onAlpaca)).toMatch(/reconnected; entries wait for a clean reconciliation/);
    expect(brokers.isAwaitingReconciliation('alpaca')).toBe(true);
    expect(brokers.awaitingReconciliation().map((c) => c.key)).toEqual(['alpaca']);

    brokers.restored('alpaca');
    expect(brokers.entriesBlockedReason(onAlpaca)).toBeNull();
    expect(brokers.isAwaitingReconciliation('alpaca')).toBe(false);
    brokers.onModuleDestroy();
  });

  it('reads secrets through the vault only for an adapter that asks, with the account as the owner', async () => {
    const paper = await venueServer();
    const perAccount: BrokerAdapter<BrokerSecrets> = {
      name: 'api-key-test',
      scope: 'account',
      environments: ['paper', 'live'],
      create: async ({ secrets }) => {
        const got = await secrets();
        expect(got).toMatchObject({ kind: 'api_key' });
        const venue = new PaperVenue(new MarketReplay({ data, paused: true }), { ackLatencyMs: 1 });
        return { client: venue, close: () => Promise.resolve(venue.close()) };
      },
    };
    const registry = new BrokerRegistry<BrokerSecrets>({
      brokers: { paper: http(paper.server.url, 'paper'), alpaca: perAccount },
    });
    open.push(registry);
    const vault = new RecordingVault();
    const brokers = new AccountBrokers(registry, logger, vault);

    await brokers.clientFor(account('p1', 'paper'));
    await brokers.clientFor(account('p2', 'paper'));
    expect(vault.loaded).toEqual([]); // a paper deployment never decrypts anything
    await brokers.clientFor(account('l1', 'alpaca', 'live'));
    await brokers.clientFor(account('l1', 'alpaca', 'live'));
    expect(vault.loaded).toEqual([{ accountId: 'l1', broker: 'alpaca', environment: 'live' }]);
  });

  it('answers 503 for a broker this deployment does not have, or an environment its adapter does not serve', async () => {
    const paper = await venueServer();
    const registry = new BrokerRegistry<BrokerSecrets>({ brokers: { paper: http(paper.server.url, 'paper') } });
    open.push(registry);
    const brokers = new AccountBrokers(registry, logger);
    const refusal = (a: ReturnType<typeof account>) =>
      brokers.clientFor(a).then(
        () => null,
        (error: unknown) => error,
      );
    const notConfigured = await refusal(account('x', 'schwab'));
    expect(notConfigured).toBeInstanceOf(ApiError);
    expect(notConfigured).toMatchObject({ status: 503, code: 'service.unavailable' });
    expect((notConfigured as ApiError).detail).toMatch(/broker schwab is not configured/);
    expect(await refusal(account('y', 'paper', 'live'))).toMatchObject({
      status: 503,
      detail: expect.stringMatching(/does not serve live accounts/),
    });
    expect(brokers.entriesBlockedReason(account('x', 'schwab'))).toBeNull();
  });
});
