import type { CockpitFrame } from '../../../monitor/src/frame.js';
import { ms } from '../format.js';

/**
 * Market, per symbol the replay (or feed) quotes: quote age on the feed's clock, spread, the regime and
 * the tick-direction entropy.
 */
export function MarketPanel({ frame }: { frame: CockpitFrame }) {
  return (
    <section className="panel market" data-testid="panel-market">
      <h2>Market</h2>
      <table className="figures">
        <thead>
          <tr>
            <th>symbol</th>
            <th>bid</th>
            <th>ask</th>
            <th>spread</th>
            <th>quote age</th>
            <th>entropy</th>
            <th>regime</th>
          </tr>
        </thead>
        <tbody>
          {frame.market.map((m) => (
            <tr key={m.symbol} data-testid={`market-${m.symbol.replace(/\s+/g, '_')}`}>
              <td>{m.symbol}</td>
              <td>{m.bid ?? '–'}</td>
              <td>{m.ask ?? '–'}</td>
              <td>{m.spreadBps === null ? '–' : `${m.spreadBps.toFixed(2)} bp`}</td>
              <td data-testid="quote-age">{ms(m.quoteAgeMs, 0)}</td>
              <td>{m.entropyBits === null ? '–' : `${m.entropyBits.toFixed(3)} bit (${m.ticks})`}</td>
              <td className={m.regime === 'attack' ? 'ok' : 'bad'} title={m.vetoReason ?? ''}>
                {m.regime}
                {m.vetoReason ? `: ${m.vetoReason}` : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="help">
        Entropy: the direction of each of the last 64 mid-price changes (up, down, unchanged) is counted; H = −Σ p·log₂
        p over the three shares, from 0 (every tick the same way) to log₂ 3 ≈ 1.585 bit (no pattern). Regime{' '}
        <em>attack</em>: a two-sided, uncrossed quote no older than the risk check&apos;s RISK_MAX_QUOTE_AGE_MS and
        trading not halted globally; <em>veto</em> otherwise, with the reason.
      </p>
    </section>
  );
}
