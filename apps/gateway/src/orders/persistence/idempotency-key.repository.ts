import { Injectable } from '@nestjs/common';
import { IdempotencyKeyEntity } from '../../database/entities.js';
import type { AccountScope } from '../../persistence/account-scope.js';

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

/** Idempotency keys by (account, clientOrderId), in the account's transaction (TypeORM entity API). */
@Injectable()
export class IdempotencyKeyRepository {
  async find(scope: AccountScope, clientOrderId: string): Promise<IdempotencyRecord | null> {
    const row = await scope.manager.findOne(IdempotencyKeyEntity, {
      where: { accountId: scope.account.id, clientOrderId },
    });
    return row ? toRecord(row) : null;
  }

  /** Records the key of a new intent; one already decided (a denial) is completed at once. */
  async insert(scope: AccountScope, record: IdempotencyRecord): Promise<void> {
    const createdAt = new Date(record.createdAt);
    await scope.manager.insert(IdempotencyKeyEntity, {
      accountId: scope.account.id,
      clientOrderId: record.clientOrderId,
      requestHash: record.requestHash,
      orderId: record.orderId,
      state: record.state,
      createdAt,
      completedAt: record.state === 'completed' ? createdAt : null,
    });
  }

  /** Completes the key of an order once the broker's answer (or reconciliation) settled its submission. */
  async complete(scope: AccountScope, order: { readonly clientOrderId: string }, at: number): Promise<void> {
    await scope.manager.update(
      IdempotencyKeyEntity,
      { accountId: scope.account.id, clientOrderId: order.clientOrderId },
      { state: 'completed', completedAt: new Date(at) },
    );
  }
}
