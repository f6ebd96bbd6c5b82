import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../migrations/index.js';
import { createTestDatabase, redisPrefix, SERVER_URL } from '../support/database.js';
import { MAIN, ROOT, runCli, startGatewayProcess } from '../support/gateway-process.js';

/**
 * Start-up refusals (README, top): a misconfigured gateway exits with one line on stderr that says what is
 * wrong and what to do, naming what was configured.
 */
async function startFails(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { code, stderr };
}

describe('start-up refusals', () => {
  it('names the REDIS_URL host and port in the Redis hint', async () => {
    const db = await createTestDatabase();
    const { code, stderr } = await startFails({ DATABASE_URL: db.url, REDIS_URL: 'redis://127.0.0.1:6390' }).finally(
      () => db.drop(),
    );
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines, stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^gateway: Redis is not reachable at 127\.0\.0\.1:6390 \(REDIS_URL\)/);
    expect(lines[0]).toContain('--bind 127.0.0.1 --port 6390');
    expect(lines[0]).not.toContain('6379');
  });

  it('refuses a PAPER_SPXW_DATE the data lacks, naming the dates it holds', async () => {
    const { code, stderr } = await startFails({ PAPER_SPXW_DATE: '20210105' });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n'), stderr).toEqual([
      'gateway: PAPER_SPXW_DATE 20210105 is not in the recorded SPXW data ' +
        '(spxw_options_20210104_06_08_minute_quote.csv); it holds 20210104, 20210106, 20210108.',
    ]);
  });
});

describe('migrations as a step of their own', () => {
  it('DATABASE_MIGRATIONS=require refuses a database that lacks migrations; migrate status lists them, migrate up applies them once', async () => {
    const name = `gw_test_migrate_${randomBytes(4).toString('hex')}`;
    const url = new URL(SERVER_URL);
    url.pathname = `/${name}`;
    const env = { DATABASE_URL: url.toString() };
    try {
      const refused = await startFails({ ...env, DATABASE_MIGRATIONS: 'require' });
      expect(refused.code).toBe(1);
      const lines = refused.stderr.trim().split('\n');
      expect(lines, refused.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(
          `^gateway: the database lacks ${MIGRATIONS.length} migration\\(s\\) this build needs .*npm run cli -- migrate up`,
        ),
      );

      const before = await runCli(['--json', 'migrate', 'status'], env);
      expect(before.code, before.stderr).toBe(0);
      const listed = JSON.parse(before.stdout) as { migrations: { name: string; applied: boolean }[]; pending: number };
      expect(listed.pending).toBe(MIGRATIONS.length);
      expect(listed.migrations.every((state) => !state.applied)).toBe(true);

      const up = await runCli(['--json', 'migrate', 'up'], env);
      expect(up.code, up.stderr).toBe(0);
      expect((JSON.parse(up.stdout) as { applied: string[] }).applied).toEqual(listed.migrations.map((m) => m.name));

      const again = await runCli(['migrate', 'up'], env);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout.trim()).toBe('no pending migrations');
      const after = await runCli(['migrate', 'status'], env);
      expect(after.stdout.trim().split('\n').at(-1)).toBe('0 pending');
    } finally {
      const admin = new pg.Client({ connectionString: SERVER_URL });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).finally(() => admin.end());
    }
  }, 90_000);

  it('migrate status exits 2 when PostgreSQL cannot be reached', async () => {
    const run = await runCli(['migrate', 'status'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:5499/none' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('PostgreSQL is not reachable');
  });
});

describe('one paper venue per database', () => {
  it('refuses a second gateway with an in-process paper venue on the same database, naming the fix', async () => {
    const db = await createTestDatabase();
    const first = await startGatewayProcess({ DATABASE_URL: db.url, REDIS_PREFIX: redisPrefix() });
    try {
      const { code, stderr } = await startFails({ DATABASE_URL: db.url, REDIS_PREFIX: redisPrefix() });
      expect(code).toBe(1);
      expect(stderr.trim().split('\n'), stderr).toEqual([
        'gateway: another gateway instance with an in-process paper venue is running on this database (DATABASE_URL): ' +
          'instances must share one venue. Run it as its own process ("npm run venue") and start every instance ' +
          'with PAPER_VENUE_URL set to its URL.',
      ]);
      // The first one trades on.
      expect((await fetch(`${first.url}/health/ready`)).status).toBe(200);
    } finally {
      await first.stop();
      await db.drop();
    }
  }, 60_000);
});
