import { useEffect, useRef } from 'react';
import type { BookFigures, CockpitFrame } from '../../../monitor/src/frame.js';

/** Columns kept: a minute at four frames a second. */
const COLUMNS = 240;
const LEVELS = 10;

/** Red (ask-heavy, -1) through black (0) to green (bid-heavy, +1). */
function color(v: number): string {
  const x = Math.max(-1, Math.min(1, v));
  return x >= 0 ? `rgb(20, ${Math.round(40 + 200 * x)}, 60)` : `rgb(${Math.round(40 + 200 * -x)}, 30, 40)`;
}

/**
 * Order book: the imbalance per level of the LOBSTER 10-level AAPL book the paper venue's replay has in
 * force (relayed by the monitor from the gateway's snapshots), as a heatmap
 * over time on a plain canvas (newest on the right, level 1 at the top), with the WOBI and the liquidity
 * imbalance now.
 */
export function OrderBookPanel({ frame }: { frame: CockpitFrame }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const columns = useRef<(BookFigures | null)[]>([]);
  const book = frame.book ?? null;

  useEffect(() => {
    columns.current.push(book);
    if (columns.current.length > COLUMNS) {
      columns.current.shift();
    }
    const c = canvas.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx) {
      return;
    }
    const w = c.width / COLUMNS;
    const h = c.height / (LEVELS + 1);
    ctx.fillStyle = '#12161c';
    ctx.fillRect(0, 0, c.width, c.height);
    const offset = COLUMNS - columns.current.length;
    columns.current.forEach((col, x) => {
      if (!col) {
        return;
      }
      col.levels.forEach((v, level) => {
        ctx.fillStyle = color(v);
        ctx.fillRect((offset + x) * w, level * h, Math.ceil(w), Math.ceil(h));
      });
      // The bottom row: the WOBI itself.
      ctx.fillStyle = color(col.wobi);
      ctx.fillRect((offset + x) * w, LEVELS * h + 2, Math.ceil(w), Math.ceil(h) - 2);
    });
  }, [frame, book]);

  return (
    <section className="panel order-book" data-testid="panel-order-book">
      <h2>Order book</h2>
      {book ? (
        <p data-testid="book-figures">
          {book.symbol} {book.date} {book.time} ET · bid {book.bestBid} / ask {book.bestAsk} · WOBI{' '}
          <strong>{book.wobi.toFixed(3)}</strong> · liquidity imbalance{' '}
          <strong>{book.imbalancePercent.toFixed(1)} %</strong>
        </p>
      ) : (
        <p>No LOBSTER book (MARKET_DATA_DIR).</p>
      )}
      <canvas ref={canvas} width={960} height={220} className="heatmap" data-testid="book-heatmap" />
      <p className="help">
        Rows: levels 1 (top) to 10, then the WOBI; green bid-heavy, red ask-heavy. Per level (B<sub>i</sub> − A
        <sub>i</sub>) / (B<sub>i</sub> + A<sub>i</sub>) of the sizes; WOBI = Σ w<sub>i</sub>(B<sub>i</sub> − A
        <sub>i</sub>) / Σ w<sub>i</sub>(B<sub>i</sub> + A<sub>i</sub>) with w<sub>i</sub> = 1/i (the touch weighs most);
        liquidity imbalance = (ΣB − ΣA) / (ΣB + ΣA) over the 10 levels unweighted. Multi-level depth imbalance after
        Cao, Hansch &amp; Wang (2009), “The information content of an open limit-order book”, J. Futures Markets 29(1).
        Level weights w<sub>1</sub>…w<sub>10</sub> = 1, 1/2, 1/3, … 1/10. Data: LOBSTER&apos;s AAPL 2012-06-21 10-level
        sample (999 books, 49 s), replayed by the paper venue&apos;s replay on its own clock (its speed, paused with it;
        the book recorded at 09:30:05 is in force at 09:30:05, looping every 49 s) and relayed by the monitor from the
        gateway&apos;s snapshots.
      </p>
    </section>
  );
}
