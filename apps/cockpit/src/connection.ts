import type { CockpitFrame, HelloMessage, KillSwitchRequest, ServerMessage } from '../../monitor/src/frame.js';

const TOKEN_KEY = 'cockpit.token';

/**
 * The bearer token: from the address's fragment (`#token=…`, as `npm start` prints it; taken out of the
 * address at once) or this tab's session storage. Never sent in a URL.
 */
export function initialToken(): string | null {
  const match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (match?.[1]) {
    const token = decodeURIComponent(match[1]);
    sessionStorage.setItem(TOKEN_KEY, token);
    history.replaceState(null, '', window.location.pathname + window.location.search);
    return token;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string | null): void {
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  } else {
    sessionStorage.removeItem(TOKEN_KEY);
  }
}

export interface ConnectionEvents {
  hello(message: HelloMessage): void;
  frame(frame: CockpitFrame): void;
  status(status: 'connecting' | 'open' | 'closed', detail?: string): void;
  refused(detail: string): void;
}

/** The monitor's WebSocket: authenticates, hands each message on, reconnects (1 s, 2 s, … 5 s) when lost. */
export function connect(token: string, on: ConnectionEvents): () => void {
  let ws: WebSocket | null = null;
  let stopped = false;
  let attempt = 0;
  let retry: number | undefined;
  const open = () => {
    on.status('connecting');
    const url = `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/ws`;
    ws = new WebSocket(url);
    ws.onopen = () => {
      ws?.send(JSON.stringify({ type: 'auth', token }));
    };
    ws.onmessage = (event: MessageEvent<string>) => {
      const message = JSON.parse(event.data) as ServerMessage;
      if (message.type === 'hello') {
        attempt = 0;
        on.status('open');
        on.hello(message);
      } else {
        on.frame(message);
      }
    };
    ws.onclose = (event) => {
      if (stopped) {
        return;
      }
      if (event.code === 4401 || event.code === 4400) {
        on.refused(event.reason || 'token refused');
        return;
      }
      on.status('closed', event.reason || `connection lost (${event.code})`);
      attempt++;
      retry = window.setTimeout(open, Math.min(attempt * 1_000, 5_000));
    };
  };
  open();
  return () => {
    stopped = true;
    window.clearTimeout(retry);
    ws?.close();
  };
}

export interface KillSwitchAnswer {
  readonly status: number;
  readonly body: Record<string, unknown> | null;
}

/** Halts (POST) or re-arms (DELETE) through the monitor, which forwards it to the gateway with this token. */
export async function killSwitch(
  token: string,
  method: 'POST' | 'DELETE',
  request: KillSwitchRequest,
): Promise<KillSwitchAnswer> {
  const res = await fetch('/api/kill-switch', {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(request),
  });
  const text = await res.text();
  let body: Record<string, unknown> | null;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { detail: text };
  }
  return { status: res.status, body };
}
