import type { StreamConnector, StreamSocket } from '@gateway/brokers';
import type { Activity } from './order-lifecycle.model.js';

/** How long a quiet check waits for its echo at most (it comes in well under a millisecond on loopback). */
const ECHO_BOUND_MS = 2_000;

/**
 * The wire between the gateway's broker client and the in-process fake broker, as the model sees it (the
 * network, not the broker): every HTTP call of the client is counted as activity until its body is read; a
 * `connection_reset` makes the next order request fail before it is sent (the broker never reads it, as when
 * the connection is reset before the request); every stream frame is counted, kept (for `reemit`) and can be
 * delivered twice (`duplicate`: a broker's at-least-once delivery, the stream's duplicates). Frames the fake
 * has sent and the client not yet read are counted by an echo (`quiet`): a request the broker answers on the
 * same socket, which arrives after every frame sent before it. Whose order a frame is about (`orderOf`), what
 * an order request is (`isOrderRequest`) and the echo (`echo`) are the broker's.
 */
export class BrokerWire {
  /** Every order frame a client received, in order (what `reemit` delivers again). */
  private readonly frames: string[] = [];
  private received = 0;
  private resetNext = false;
  private handler: ((text: string) => void) | null = null;
  private socket: StreamSocket | null = null;
  private echoed: (() => void) | null = null;
  private readonly duplicates = new Map<string, number>();
  private readonly resets = new WeakSet<object>();

  constructor(
    private readonly activity: Activity,
    private readonly broker: {
      /** Whether a request changes orders at the broker (place, cancel, replace): what a reset hits. */
      readonly isOrderRequest: (method: string, url: string) => boolean;
      /** Our order id of the order a stream frame is about; null when the frame is about none. */
      readonly orderOf: (text: string) => string | null;
      /** A request the broker answers on the stream without changing anything, and whether a frame is its answer. */
      readonly echo: { readonly request: string; readonly isAnswer: (text: string) => boolean };
    },
  ) {}

  /** The client's fetch: counted, and reset when armed. */
  readonly fetch: typeof fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = init?.method ?? 'GET';
    if (this.resetNext && this.broker.isOrderRequest(method, url)) {
      this.resetNext = false;
      const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      const error = new TypeError('fetch failed', { cause: reset });
      this.resets.add(error);
      throw error;
    }
    return this.activity.track(
      (async () => {
        const res = await fetch(input, init);
        // Read here, so the call is counted until its body is in (the client reads it right after).
        const body = await res.arrayBuffer();
        return new Response(res.status === 204 || res.status === 304 ? null : body, {
          status: res.status,
          statusText: res.statusText,
          headers: res.headers,
        });
      })(),
    );
  };

  /** The client's stream connector over `connect`: every frame counted, kept and maybe delivered twice. */
  connector(connect: StreamConnector): StreamConnector {
    return (url, handlers) => {
      const onMessage = (text: string): void => {
        if (this.echoed !== null && this.broker.echo.isAnswer(text)) {
          this.echoed();
          return; // the quiet check's own: not the client's
        }
        this.received += 1;
        this.activity.begin();
        try {
          const orderId = this.broker.orderOf(text);
          if (orderId !== null) {
            this.frames.push(text);
          }
          handlers.onMessage(text);
          const left = orderId === null ? 0 : (this.duplicates.get(orderId) ?? 0);
          if (left > 0) {
            this.duplicates.set(orderId!, left - 1);
            handlers.onMessage(text);
          }
        } finally {
          this.activity.end();
        }
      };
      this.handler = onMessage;
      const socket = connect(url, { onOpen: handlers.onOpen, onMessage, onClose: handlers.onClose });
      this.socket = socket;
      return socket;
    };
  }

  /** Whether `error` is a reset of this wire (the request was never sent). */
  isReset(error: unknown): boolean {
    return typeof error === 'object' && error !== null && this.resets.has(error);
  }

  /** The next order request fails with a connection reset before it is sent. */
  resetNextOrderRequest(on = true): void {
    this.resetNext = on;
  }

  /** The next `count` frames about `orderId` are delivered twice. */
  duplicate(orderId: string, count: number): void {
    this.duplicates.set(orderId, (this.duplicates.get(orderId) ?? 0) + count);
  }

  /** Delivers a frame a client received before once more, to the client connected now. */
  reemit(index: number): void {
    if (this.frames.length > 0 && this.handler !== null) {
      this.activity.begin();
      try {
        this.handler(this.frames[index % this.frames.length]!);
      } finally {
        this.activity.end();
      }
    }
  }

  /** The client of a generation is gone: frames go nowhere until the next connects. */
  disconnected(): void {
    this.handler = null;
    this.socket = null;
  }

  /**
   * Sends the echo request and waits for its answer: every frame the broker sent before it has then been
   * read. True when some frame arrived meanwhile (the caller looks again).
   */
  async quiet(): Promise<boolean> {
    const socket = this.socket;
    if (socket === null) {
      return false;
    }
    const before = this.received;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ECHO_BOUND_MS);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.echoed = done;
      socket.send(this.broker.echo.request);
    });
    this.echoed = null;
    return this.received !== before;
  }
}

/** POSTs a fault to a fake broker's test route (`/test/faults`); throws when the fake refuses it. */
export async function addFakeFault(baseUrl: string, fault: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${baseUrl}/test/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(fault),
  });
  if (res.status !== 201) {
    throw new Error(`the fake broker refused the fault ${JSON.stringify(fault)}: ${res.status} ${await res.text()}`);
  }
}

/** Removes every fault of a fake broker (`DELETE /test/faults`). */
export async function clearFakeFaults(baseUrl: string): Promise<void> {
  const res = await fetch(`${baseUrl}/test/faults`, { method: 'DELETE' });
  await res.arrayBuffer();
}
