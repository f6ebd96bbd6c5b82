import { type GatewayProcess, mintToken } from './gateway-process.js';
import { Api } from './http.js';

/*
 * The crash test's setup (test/support/crash-run.ts) of a broker faked by its own process over the broker's
 * wire protocol (test/e2e/crash-alpaca.test.ts, crash-schwab.test.ts): the fake's seeded random answer delay,
 * and the account the clients trade in.
 */

/** A fake broker process as the crash test drives it (test/support/fake-alpaca-process.ts, fake-schwab-process.ts). */
interface FakeBrokerProcess {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
}

/**
 * Sets a fake broker's `random_delay` fault (`POST /test/faults`, apps/fake-brokers): every order request
 * (submit, cancel) is answered a random 0–2 s after the fake acted on it, drawn from `seed`. `label`: the
 * broker's name in the error (`Alpaca`). Throws when the fake refuses the fault.
 */
export async function delayAnswersAtRandom(fake: FakeBrokerProcess, label: string, seed: number): Promise<void> {
  const fault = await fake.call('POST', '/test/faults', {
    kind: 'random_delay',
    delay_ms: 0,
    max_delay_ms: 2_000,
    seed,
  });
  if (fault.status !== 201) {
    throw new Error(
      `fake ${label.toLowerCase()} refused the random_delay fault: ${fault.status} ${JSON.stringify(fault.body)}`,
    );
  }
}

/**
 * With the first gateway: the account the clients trade in at a broker other than paper (`label`: `Alpaca`,
 * `Schwab`; the broker's id is its lower case), in its paper environment, named `crash-<broker>`. An admin
 * creates it, `link` connects it to the broker as that broker does (API keys, the OAuth flow; throwing Error
 * when it fails), and the clients get a trader's token for every account. Throws Error when the gateway
 * refuses the account.
 */
export async function connectBrokerAccount(
  gw: GatewayProcess,
  databaseUrl: string,
  label: string,
  link: (admin: Api, accountId: string) => Promise<void>,
): Promise<{ accountId: string; token: string }> {
  const broker = label.toLowerCase();
  const admin = new Api(
    gw.url,
    await mintToken(databaseUrl, ['--sub', 'crash-admin', '--role', 'admin', '--account', '*']),
  );
  const created = await admin.post('/v1/accounts', { name: `crash-${broker}`, broker, environment: 'paper' });
  if (created.status !== 201) {
    throw new Error(`creating the ${label} account: ${created.status} ${JSON.stringify(created.body)}`);
  }
  const accountId = created.body.id as string;
  await link(admin, accountId);
  const token = await mintToken(databaseUrl, ['--sub', 'crash-trader', '--role', 'trader', '--account', '*']);
  return { accountId, token };
}
