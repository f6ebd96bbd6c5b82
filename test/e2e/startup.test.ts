import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { MAIN, ROOT } from '../support/gateway-process.js';

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
