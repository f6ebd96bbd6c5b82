import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit log in 32 partitions (apps/gateway/src/audit/audit-chain.ts), so that appends of different
 * accounts never wait on each other: each locks only its partition's row of `audit_log_heads` (the
 * seq, partition_seq and hash of the partition's last row), chains after it and moves it on in the same
 * transaction. `seq` comes from `audit_log_seq`, taken while the partition is locked; within a partition
 * `partition_seq` is gapless from 1 and `prev_seq` names the previous row. The rows already there keep
 * partition, partition_seq and prev_seq null: they stay the one legacy chain they were, verified as before,
 * and nothing is rehashed.
 */
export class AuditPartitions1795651200000 implements MigrationInterface {
  name = 'AuditPartitions1795651200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE audit_log
        ADD COLUMN partition smallint,
        ADD COLUMN partition_seq bigint,
        ADD COLUMN prev_seq bigint,
        ADD CONSTRAINT audit_log_partition_fields CHECK (
          (partition IS NULL AND partition_seq IS NULL AND prev_seq IS NULL)
          OR (partition BETWEEN 0 AND 31 AND partition_seq > 0 AND prev_seq >= 0 AND prev_seq < seq))`);
    await q.query(`CREATE UNIQUE INDEX audit_log_partition_idx ON audit_log (partition, partition_seq)`);
    await q.query(`CREATE SEQUENCE audit_log_seq AS bigint OWNED BY audit_log.seq`);
    await q.query(`SELECT setval('audit_log_seq', COALESCE((SELECT max(seq) FROM audit_log), 0) + 1, false)`);
    await q.query(`
      CREATE TABLE audit_log_heads (
        partition smallint PRIMARY KEY CHECK (partition BETWEEN 0 AND 31),
        seq bigint NOT NULL CHECK (seq >= 0),
        partition_seq bigint NOT NULL CHECK (partition_seq >= 0),
        hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
      )`);
    await q.query(`
      INSERT INTO audit_log_heads (partition, seq, partition_seq, hash)
      SELECT p, 0, 0, repeat('0', 64) FROM generate_series(0, 31) AS p`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_log_heads`);
    await q.query(`DROP SEQUENCE audit_log_seq`);
    await q.query(`DROP INDEX audit_log_partition_idx`);
    await q.query(`
      ALTER TABLE audit_log
        DROP CONSTRAINT audit_log_partition_fields,
        DROP COLUMN prev_seq,
        DROP COLUMN partition_seq,
        DROP COLUMN partition`);
  }
}
