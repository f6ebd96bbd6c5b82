import { useEffect, useRef, useState } from 'react';
import type { CockpitFrame, HelloMessage } from '../../monitor/src/frame.js';
import { connect, initialToken, saveToken } from './connection.js';
import { chartValues, History } from './history.js';
import { AccountsPanel } from './panels/AccountsPanel.js';
import { ExecutionPanel } from './panels/ExecutionPanel.js';
import { GatesPanel } from './panels/GatesPanel.js';
import { KillSwitchPanel } from './panels/KillSwitchPanel.js';
import { MarketPanel } from './panels/MarketPanel.js';
import { OrderBookPanel } from './panels/OrderBookPanel.js';
import { SentinelPanel } from './panels/SentinelPanel.js';
import { StagesPanel } from './panels/StagesPanel.js';

/**
 * The operations cockpit: one WebSocket to the monitor, a frame four times a second, eight panels. It
 * shows what the gateway reports and sends one command, the kill switch, with the operator's own token.
 */
export function App() {
  const [token, setToken] = useState<string | null>(() => initialToken());
  const [hello, setHello] = useState<HelloMessage | null>(null);
  const [frame, setFrame] = useState<CockpitFrame | null>(null);
  const [status, setStatus] = useState<string>('connecting');
  const [refused, setRefused] = useState<string | null>(null);
  const history = useRef(new History());

  useEffect(() => {
    if (!token) {
      return;
    }
    setRefused(null);
    return connect(token, {
      hello: setHello,
      frame: (f) => {
        history.current.push(f, chartValues(f));
        setFrame(f);
      },
      status: (s, detail) => setStatus(detail ? `${s}: ${detail}` : s),
      refused: (detail) => {
        setRefused(detail);
        setHello(null);
      },
    });
  }, [token]);

  if (!token || refused) {
    return <Login refused={refused} onToken={(t) => (saveToken(t), setToken(t))} />;
  }
  return (
    <div className="cockpit">
      <header>
        <h1>Execution gateway · cockpit</h1>
        <span className={`status ${status === 'open' ? 'ok' : 'warn'}`} data-testid="connection-status">
          {status}
        </span>
        <span data-testid="frame-at">{frame ? new Date(frame.at).toISOString().slice(11, 23) : '–'}</span>
        {hello && (
          <span data-testid="whoami">
            {hello.subject} ({hello.roles.join(', ')})
          </span>
        )}
        <button type="button" onClick={() => (saveToken(null), setToken(null))}>
          Sign out
        </button>
      </header>
      {frame ? (
        <main>
          <SentinelPanel frame={frame} history={history.current} />
          <KillSwitchPanel frame={frame} token={token} canHalt={hello?.canHalt ?? false} />
          <GatesPanel frame={frame} />
          <StagesPanel frame={frame} history={history.current} />
          <ExecutionPanel frame={frame} history={history.current} />
          <MarketPanel frame={frame} />
          <AccountsPanel frame={frame} token={token} roles={hello?.roles ?? []} />
          <OrderBookPanel frame={frame} />
        </main>
      ) : (
        <p className="waiting">Waiting for the first frame from the monitor…</p>
      )}
    </div>
  );
}

function Login({ refused, onToken }: { refused: string | null; onToken: (token: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <form
      className="login"
      onSubmit={(e) => {
        e.preventDefault();
        if (value.trim()) {
          onToken(value.trim());
        }
      }}
    >
      <h1>Execution gateway · cockpit</h1>
      {refused && <p className="error">The monitor refused the token: {refused}</p>}
      <label>
        Bearer token (the gateway&apos;s: <code>npm run token -- --sub you --role risk --account &apos;*&apos;</code>)
        <textarea value={value} onChange={(e) => setValue(e.target.value)} rows={4} name="token" />
      </label>
      <button type="submit">Open</button>
    </form>
  );
}
