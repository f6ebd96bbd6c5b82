import { comparePositions, Decimal } from '@gateway/oms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../../../test/support/database.js';
import { AccountRepository } from '../../accounts/account.repository.js';
import { PositionRepository } from './position.repository.js';

let db: TestDatabase;
let positions: PositionRepository;
const ids: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  positions = new PositionRepository(db.dataSource);
  const accounts = new AccountRepository(db.dataSource);
  for (const name of ['positions-a', 'positions-b', 'positions-c']) {
    ids.push((await accounts.ensurePaperAccount(name)).id);
  }
  const rows: [number, string, string][] = [
    [0, 'SPY', '10'],
    [0, 'QQQ', '0'],
    [1, 'SPY', '-4'],
    [2, 'SPY', '100'],
  ];
  for (const [i, symbol, quantity] of rows) {
    await db.dataSource.query(
      `INSERT INTO positions (account_id, symbol, quantity, average_price, realized_pnl, day_start_realized_pnl, updated_at)
       VALUES ($1, $2, $3, 0, 0, 0, now())`,
      [ids[i], symbol, quantity],
    );
  }
});
afterAll(async () => {
  await db?.drop();
});

describe('PositionRepository.quantities', () => {
  it('reads the positions of several accounts in one query, those of the others left out', async () => {
    const read = await positions.quantities([ids[0]!, ids[1]!]);
    expect(read.map((p) => `${p.symbol} ${p.quantity.toFixed()}`).sort()).toEqual(['QQQ 0', 'SPY -4', 'SPY 10']);
    // One book for both accounts (the paper venue's): compared summed by symbol.
    expect(comparePositions(read, [{ symbol: 'SPY', quantity: new Decimal(6) }])).toEqual([]);
    expect(await positions.quantities([])).toEqual([]);
  });
});
