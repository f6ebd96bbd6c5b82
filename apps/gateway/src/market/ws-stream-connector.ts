import type { StreamConnector } from '@gateway/brokers';
import WebSocket from 'ws';

/**
 * The StreamConnector of the broker adapters (Alpaca's `trade_updates`), on `ws`: text and binary frames
 * are handed over as UTF-8 text (Alpaca's paper stream sends binary frames); a handshake that fails, an
 * error or a close all end in one `onClose` with the reason. Pings from the server are answered by `ws`;
 * `ping()` sends one to the server (RFC 6455 §5.5.2), its Pong reported by `onPong`.
 */
export const wsStreamConnector: StreamConnector = (url, handlers) => {
  const socket = new WebSocket(url, { handshakeTimeout: 10_000 });
  let reason = 'closed';
  socket.on('open', handlers.onOpen);
  socket.on('pong', () => handlers.onPong?.());
  socket.on('message', (data: WebSocket.RawData) => {
    const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    handlers.onMessage(buffer.toString('utf8'));
  });
  socket.on('unexpected-response', (_req, res) => {
    reason = `handshake answered HTTP ${res.statusCode ?? '?'}`;
    socket.terminate();
  });
  socket.on('error', (error: Error) => {
    reason = error.message;
  });
  socket.on('close', (code: number) =>
    handlers.onClose(code === 1006 || code === 1005 ? reason : `${reason} (code ${code})`),
  );
  return {
    send: (text) => {
      if (socket.readyState === WebSocket.OPEN) {
        socket.send(text);
      }
    },
    close: () => socket.terminate(),
    ping: () => {
      if (socket.readyState === WebSocket.OPEN) {
        socket.ping();
      }
    },
  };
};
