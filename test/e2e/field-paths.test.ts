import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { expectProblem } from '../support/e2e.js';
import { type GatewayProcess, mintToken, startGatewayProcess } from '../support/gateway-process.js';
import { Api } from '../support/http.js';

/**
 * A 422 `validation.failed` names the field at fault in `errors[].path` (API.md "Conventions"): the query
 * parameter for a bad or unknown query parameter, the path parameter's name for a bad path parameter,
 * never `(body)` for what is not in the body.
 */
let db: TestDatabase;
let gw: GatewayProcess;

beforeAll(async () => {
  db = await createTestDatabase();
  gw = await startGatewayProcess({ DATABASE_URL: db.url, REDIS_PREFIX: redisPrefix() });
});

afterAll(async () => {
  await gw?.stop();
  await db?.drop();
});

const pathsOf = (problem: { errors?: { path: string }[] }) => (problem.errors ?? []).map((e) => e.path);

describe('validation errors name the field', () => {
  it('names a bad query parameter and an unknown one', async () => {
    const api = new Api(gw.url, gw.traderToken);
    const res = await api.get(`/v1/accounts/${gw.accountId}/orders?limit=0&access_token=not-here`);
    const problem = expectProblem(res, 422, 'validation.failed');
    expect(pathsOf(problem).sort()).toEqual(['access_token', 'limit']);
    const executions = await api.get(`/v1/accounts/${gw.accountId}/executions?limit=abc`);
    expect(pathsOf(expectProblem(executions, 422, 'validation.failed'))).toEqual(['limit']);
  });

  it('names a bad path parameter', async () => {
    const admin = await mintToken(db.url, ['--sub', 'e2e-admin', '--role', 'admin', '--account', gw.accountId]);
    const res = await new Api(gw.url, admin).request('PUT', `/v1/accounts/${gw.accountId}/grants/${'s'.repeat(300)}`, {
      roles: ['viewer'],
    });
    expect(pathsOf(expectProblem(res, 422, 'validation.failed'))).toEqual(['subject']);
  });
});
