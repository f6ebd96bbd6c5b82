import { WebSocket } from 'ws';

/** A WebSocket test client for `/v1/stream` that records every frame it receives. */
export class StreamClient {
  readonly messages: any[] = [];
  closeCode: number | null = null;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.messages.push(JSON.parse(data.toString()));
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on('close', (code) => {
      this.closeCode = code;
      this.waiters.splice(0).forEach((w) => w());
    });
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
