import { Injectable } from '@nestjs/common';
import type { IdempotencyKeyEntity } from '../../database/entities.js';
import type { AccountScope } from '../../persistence/account-scope.js';
import { type LockedRead, readIn } from '../../persistence/locked-reads.js';
import { writeIn } from '../../persistence/write-batch.js';

/** The key's columns, named as `IdempotencyKeyEntity`'s properties. */
const FIND = `SELECT client_order_id AS "clientOrderId", request_hash AS "requestHash", order_id AS "orderId", state,
  created_at AS "createdAt" FROM idempotency_keys WHERE account_id = $1 AND client_order_id = $2`;

/** The idempotency record of a place or replace request (API.md "Idempotency"). Times are epoch ms. */
export interface IdempotencyRecord {
  readonly clientOrderId: string;
  readonly requestHash: string;
  readonly orderId: string;
  /** `in_progress` from the durable intent until the broker's answer is recorded. */
  readonly state: 'in_progress' | 'completed';
  readonly createdAt: number;
}

const toRecord = (e: IdempotencyKeyEntity): IdempotencyRecord => ({
  clientOrderId: e.clientOrderId,
  requestHash: e.requestHash,
  orderId: e.orderId,
  state: e.state,
  createdAt: e.createdAt.getTime(),
});

/** Idempotency keys by (account, clientOrderId), in the account's transaction (SQL). */
@Injectable()
export class IdempotencyKeyRepository {
  async find(scope: AccountScope, clientOrderId: string): Promise<IdempotencyRecord | null> {
    const [row] = await readIn<IdempotencyKeyEntity>(scope, this.findRead(scope.account.id, clientOrderId));
    return row ? toRecord(row) : null;
  }

  /** `find`'s read, to send with the account's lock (LockedRead). */
  findRead(accountId: string, clientOrderId: string): LockedRead {
    return { sql: FIND, params: [accountId, clientOrderId] };
  }

  /** Records the key of a new intent; one already decided (a denial) is completed at once. */
  async insert(scope: AccountScope, record: IdempotencyRecord): Promise<void> {
    const createdAt = new Date(record.createdAt);
    await writeIn(scope, {
      sql: `INSERT INTO idempotency_keys (account_id, client_order_id, request_hash, order_id, state, created_at,
              completed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      params: [
        scope.account.id,
        record.clientOrderId,
        record.requestHash,
        record.orderId,
        record.state,
        createdAt,
        record.state === 'completed' ? createdAt : null,
      ],
      key: `idempotency_keys:${record.clientOrderId}`,
    });
  }

  /** Completes the key of an order once the broker's answer (or reconciliation) settled its submission. */
  async complete(scope: AccountScope, order: { readonly clientOrderId: string }, at: number): Promise<void> {
    await writeIn(scope, {
      sql: `UPDATE idempotency_keys SET state = 'completed', completed_at = $3
             WHERE account_id = $1 AND client_order_id = $2`,
      params: [scope.account.id, order.clientOrderId, new Date(at)],
      key: `idempotency_keys:${order.clientOrderId}`,
    });
  }
}
