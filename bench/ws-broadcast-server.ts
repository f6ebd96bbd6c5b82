/**
 * The stream's floor, run as its own process: a bare `ws` WebSocketServer on a free loopback port. It
 * prints `port <n>`, waits for `clients` connections, then broadcasts `frames` frames of `bytes` bytes
 * each, one every `intervalMs`, every frame carrying its send time (`t`, epoch ms), and prints `done`.
 * `node ws-broadcast-server.js <clients> <frames> <bytes> <intervalMs>`
 */
import { WebSocketServer } from 'ws';

const [clients = 100, frames = 100, bytes = 1000, intervalMs = 20] = process.argv.slice(2).map(Number);
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('listening', () => {
  const address = wss.address();
  process.stdout.write(`port ${typeof address === 'string' || address === null ? address : address.port}\n`);
});
let sent = 0;
const frame = () => {
  const head = `{"type":"order","t":${Date.now()},"pad":"`;
  return `${head}${'x'.repeat(Math.max(0, bytes - head.length - 2))}"}`;
};
const tick = () => {
  const data = frame();
  for (const c of wss.clients) {
    c.send(data);
  }
  if (++sent < frames) {
    setTimeout(tick, intervalMs);
  } else {
    process.stdout.write('done\n');
  }
};
wss.on('connection', () => {
  if (wss.clients.size === clients) {
    setTimeout(tick, 200);
  }
});
