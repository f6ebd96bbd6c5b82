import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The open order statuses (`OPEN_STATUSES` when this migration was written). */
const OPEN = `ARRAY['pending_new', 'new', 'partially_filled', 'pending_cancel', 'pending_replace', 'unknown']`;

/**
 * `working_exposure`: an account's orders in an open status summed by symbol, side and, for stop
 * orders (a stop price and no limit price), stop price (0 for the other orders), as the pre-trade
 * checks read them: how many orders, their leaves quantities (quantity − confirmed fills, at least 0),
 * the part of them marked to close, Σ leaves × limit price, and the leaves of market orders. A row
 * trigger on `orders` keeps it in the same transaction as every change of an order; a sum of no
 * orders is deleted. Filled from the orders already open.
 */
export class WorkingExposure1795478400000 implements MigrationInterface {
  name = 'WorkingExposure1795478400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE working_exposure (
        account_id uuid NOT NULL REFERENCES accounts(id),
        symbol text NOT NULL,
        side text NOT NULL,
        stop_price numeric NOT NULL,
        order_count integer NOT NULL,
        leaves_quantity numeric NOT NULL,
        closing_quantity numeric NOT NULL,
        limit_notional numeric NOT NULL,
        market_quantity numeric NOT NULL,
        PRIMARY KEY (account_id, symbol, side, stop_price)
      )`);
    await q.query(`
      CREATE FUNCTION working_exposure_add(o orders, n integer) RETURNS void LANGUAGE plpgsql AS $$
      DECLARE
        leaves numeric := n * greatest(o.quantity - o.filled_quantity, 0);
        stop numeric := CASE WHEN o.limit_price IS NULL THEN coalesce(o.stop_price, 0) ELSE 0 END;
      BEGIN
        INSERT INTO working_exposure AS w VALUES (
          o.account_id, o.symbol, o.side, stop, n, leaves,
          CASE WHEN o.position_effect = 'close' THEN leaves ELSE 0 END,
          coalesce(leaves * o.limit_price, 0),
          CASE WHEN o.limit_price IS NULL AND o.stop_price IS NULL THEN leaves ELSE 0 END)
        ON CONFLICT (account_id, symbol, side, stop_price) DO UPDATE SET
          order_count = w.order_count + EXCLUDED.order_count,
          leaves_quantity = w.leaves_quantity + EXCLUDED.leaves_quantity,
          closing_quantity = w.closing_quantity + EXCLUDED.closing_quantity,
          limit_notional = w.limit_notional + EXCLUDED.limit_notional,
          market_quantity = w.market_quantity + EXCLUDED.market_quantity;
        IF n < 0 THEN
          DELETE FROM working_exposure WHERE account_id = o.account_id AND symbol = o.symbol AND side = o.side
            AND stop_price = stop AND order_count = 0;
        END IF;
      END $$`);
    await q.query(`
      CREATE FUNCTION orders_working_exposure() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        was_open boolean := TG_OP <> 'INSERT' AND OLD.status = ANY(${OPEN});
        is_open boolean := TG_OP <> 'DELETE' AND NEW.status = ANY(${OPEN});
      BEGIN
        IF was_open AND is_open AND OLD.account_id = NEW.account_id AND OLD.symbol = NEW.symbol
           AND OLD.side = NEW.side AND OLD.quantity = NEW.quantity AND OLD.filled_quantity = NEW.filled_quantity
           AND OLD.limit_price IS NOT DISTINCT FROM NEW.limit_price
           AND OLD.stop_price IS NOT DISTINCT FROM NEW.stop_price
           AND OLD.position_effect IS NOT DISTINCT FROM NEW.position_effect THEN
          RETURN NULL;
        END IF;
        IF was_open THEN
          PERFORM working_exposure_add(OLD, -1);
        END IF;
        IF is_open THEN
          PERFORM working_exposure_add(NEW, 1);
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER orders_working_exposure AFTER INSERT OR UPDATE OR DELETE ON orders
      FOR EACH ROW EXECUTE FUNCTION orders_working_exposure()`);
    await q.query(`
      INSERT INTO working_exposure
      SELECT account_id, symbol, side, stop, count(*)::int, sum(leaves),
             coalesce(sum(leaves) FILTER (WHERE position_effect = 'close'), 0),
             coalesce(sum(leaves * limit_price), 0),
             coalesce(sum(leaves) FILTER (WHERE limit_price IS NULL AND stop_price IS NULL), 0)
        FROM (SELECT account_id, symbol, side, limit_price, stop_price, position_effect,
                     greatest(quantity - filled_quantity, 0) AS leaves,
                     CASE WHEN limit_price IS NULL THEN coalesce(stop_price, 0) ELSE 0 END AS stop
                FROM orders WHERE status = ANY(${OPEN})) o
       GROUP BY account_id, symbol, side, stop`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER orders_working_exposure ON orders`);
    await q.query(`DROP FUNCTION orders_working_exposure()`);
    await q.query(`DROP FUNCTION working_exposure_add(orders, integer)`);
    await q.query(`DROP TABLE working_exposure`);
  }
}
