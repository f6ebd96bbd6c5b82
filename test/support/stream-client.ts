import { WebSocket } from 'ws';

/** A WebSocket test client for `/v1/stream` that records every frame it receives. */
export class StreamClient {
  readonly messages: any[] = [];
  closeCode: number | null = null;
  /** Wall-clock ms when the socket closed, or null while open. */
  closedAt: number | null = null;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.messages.push(JSON.parse(data.toString()));
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on('close', (code) => {
      this.closeCode = code;
      this.closedAt = Date.now();
      this.waiters.splice(0).forEach((w) => w());
    });
    // A reset after the handshake ends in 'close' too; without a listener it would crash the test run.
    socket.on('error', () => undefined);
  }

  static async connect(baseUrl: string): Promise<StreamClient> {
    const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/stream`);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new StreamClient(socket);
  }

  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  /** Waits until some received message satisfies `predicate`; returns it. */
  async waitFor(predicate: (m: any) => boolean, timeoutMs = 10_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(predicate);
      if (found) {
        return found;
      }
      if (this.closeCode !== null) {
        throw new Error(`stream closed (${this.closeCode}) while waiting`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out waiting for a stream message; got ${JSON.stringify(this.messages).slice(0, 2000)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits until the server closes the socket; returns the close code. */
  async waitForClose(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.closeCode === null) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`socket still open after ${timeoutMs} ms; got ${JSON.stringify(this.messages).slice(0, 2000)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.closeCode;
  }

  /** Subscribes to an account's order events (from `fromSeq` when given) and returns the `subscribed` frame. */
  async subscribeOrders(accountId: string, fromSeq?: number): Promise<any> {
    const before = this.messages.length;
    this.send({ op: 'subscribe', channel: 'orders', accountId, ...(fromSeq === undefined ? {} : { fromSeq }) });
    return this.waitFor(
      (m) =>
        this.messages.indexOf(m) >= before &&
        ((m.type === 'subscribed' && m.channel === 'orders' && m.accountId === accountId) || m.type === 'error'),
    );
  }

  /** The highest order-event seq received for the account, or 0. */
  lastSeq(accountId: string): number {
    return this.orderEvents(accountId).reduce((max, e) => Math.max(max, e.seq as number), 0);
  }

  orderEvents(accountId?: string): any[] {
    return this.messages.filter((m) => m.type === 'order' && (!accountId || m.accountId === accountId));
  }

  async authenticate(token: string): Promise<void> {
    this.send({ op: 'auth', token });
    await this.waitFor((m) => m.type === 'authenticated');
  }

  close(): void {
    this.socket.close();
  }
}
