import { Writable } from 'node:stream';
import { systemClock } from '@gateway/oms';
import { HttpAdapterHost } from '@nestjs/core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database.js';
import { GatewayMetrics } from '../health/metrics.js';
import { type AuditDraft, AuditLogRepository } from './audit-log.repository.js';
import { AuditRecorder } from './audit-recorder.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

/** The real repository on the test database, whose first `failures` appends fail before reaching it. */
class FlakyRepository extends AuditLogRepository {
  calls = 0;

  constructor(private failures: number) {
    super(db.dataSource);
  }

  override append(drafts: readonly AuditDraft[]): ReturnType<AuditLogRepository['append']> {
    this.calls++;
    if (this.failures > 0) {
      this.failures--;
      return Promise.reject(new Error('connection reset'));
    }
    return super.append(drafts);
  }
}

function recorder(repository: AuditLogRepository) {
  const lines: { level: number; msg: string; attempt?: number; alert?: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
      done();
    },
  });
  const metrics = new GatewayMetrics();
  const audit = new AuditRecorder(new HttpAdapterHost(), repository, metrics, pino(sink), systemClock);
  return { audit, lines, metrics };
}

const refused = { action: 'stream.auth', code: 'auth.unauthenticated', subject: 'spec-subject' };

describe('AuditRecorder writes', () => {
  it('retries a failed write after 100 ms and 500 ms, and the entry reaches the chain', async () => {
    const repository = new FlakyRepository(2);
    const { audit, lines } = recorder(repository);
    const started = Date.now();
    audit.streamSecurityEvent(refused);
    await audit.flush();
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(repository.calls).toBe(3);
    expect(lines.map((l) => [l.msg, l.attempt])).toEqual([
      ['audit log write failed; retrying', 1],
      ['audit log write failed; retrying', 2],
    ]);
    const rows: { subject: string }[] = await db.dataSource.query(
      `SELECT subject FROM audit_log WHERE subject = 'spec-subject'`,
    );
    expect(rows).toHaveLength(1);
  });

  it('gives up after three retries (100 ms, 500 ms, 2 s): an alert line and the failure counted', async () => {
    const repository = new FlakyRepository(10);
    const { audit, lines, metrics } = recorder(repository);
    audit.streamSecurityEvent({ ...refused, subject: 'spec-lost' });
    await audit.flush();
    expect(repository.calls).toBe(4);
    expect(lines.map((l) => l.attempt ?? l.alert)).toEqual([1, 2, 3, 'audit_write_failed']);
    expect(lines.at(-1)?.level).toBe(50);
    expect(await metrics.registry.getSingleMetricAsString('gateway_audit_write_failures_total')).toMatch(/ 1$/m);
  }, 10_000);
});
