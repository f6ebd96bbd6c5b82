import type { BrokerListeners } from './broker-http.js';
import type { ConnectionChange } from './execution-client.js';

/**
 * The connection life of a broker's order-event stream, as the Alpaca and Schwab clients share it: the first
 * attempt (resolved once the stream listens or failed for a reason that may pass, rejected when the broker
 * refused the credentials), reconnects with a doubling delay, the heal pass after each reconnect, and the
 * connected/disconnected changes told to the listeners once each. The wire protocol stays in the client,
 * which opens the socket (`open`), sets `authRefused` when the broker refuses it, and calls `listening` and
 * `closedStream`.
 */
export class StreamLifecycle {
  /** Whether the stream listens now and the last heal pass was clean. */
  connected = false;
  /** Whether the stream ever listened: a later listen is a reconnect, healed first. */
  everConnected = false;
  /** Set by `close` (and by a refusal of the first attempt): nothing reconnects any more. */
  closed = false;
  /** Epoch ms the stream went down, null while it is up (or before the first attempt ended). */
  disconnectedAt: number | null = null;
  /** Set by the client when the broker refused the credentials on the stream. */
  authRefused = false;
  private reconnectDelay: number;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private firstAttempt: { resolve: () => void; reject: (error: Error) => void } | null = null;

  constructor(
    private readonly options: {
      /** First reconnect delay, ms, doubling up to `maxDelayMs`. */
      readonly initialDelayMs: number;
      readonly maxDelayMs: number;
      /** The stream's name in the connection changes, e.g. `alpaca trade_updates stream`. */
      readonly name: string;
      readonly listeners: BrokerListeners;
      /** Opens a new socket (the client's protocol). */
      readonly open: () => void;
      /** The error the first attempt rejects with when the broker refused the credentials. */
      readonly authError: () => Error;
    },
  ) {
    this.reconnectDelay = options.initialDelayMs;
  }

  /** Opens the stream: see the class. */
  firstConnect(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.firstAttempt = { resolve, reject };
      this.options.open();
    });
  }

  /** What a connection listener added now is told at once: the stream is down, or null. */
  downNotice(): ConnectionChange | null {
    return !this.connected && this.disconnectedAt !== null
      ? { connected: false, reason: `${this.options.name}: not connected` }
      : null;
  }

  /**
   * The stream listens. After a reconnect `heal` runs first; if it fails, `healFailed` is called (it logs and
   * drops the socket, so the stream is tried again) and the stream is not reported up. `current` says whether
   * the socket that listens is still the client's (a newer one may have replaced it during the heal).
   */
  async listening(
    heal: () => Promise<void>,
    healFailed: (error: unknown) => void,
    current: () => boolean = () => true,
  ): Promise<void> {
    this.reconnectDelay = this.options.initialDelayMs;
    if (this.everConnected) {
      try {
        await heal();
      } catch (error) {
        healFailed(error);
        return;
      }
    }
    if (!current()) {
      return;
    }
    this.everConnected = true;
    const wasDown = this.disconnectedAt !== null;
    this.connected = true;
    this.disconnectedAt = null;
    this.firstAttempt?.resolve();
    this.firstAttempt = null;
    if (wasDown) {
      this.options.listeners.tellConnection({ connected: true });
    }
  }

  /** The socket closed (or was given up) for `reason`: reported down once, reconnected after the delay. */
  closedStream(reason: string): void {
    const was = this.connected;
    this.connected = false;
    if (this.closed) {
      return;
    }
    if (this.firstAttempt) {
      const first = this.firstAttempt;
      this.firstAttempt = null;
      if (this.authRefused) {
        this.closed = true;
        first.reject(this.options.authError());
        return;
      }
      first.resolve(); // keeps trying in the background, reported as disconnected
    }
    if (this.disconnectedAt === null || was) {
      this.disconnectedAt = this.disconnectedAt ?? Date.now();
      this.options.listeners.tellConnection({ connected: false, reason: `${this.options.name}: ${reason}` });
    }
    if (this.reconnectTimer) {
      return; // one reconnect at a time (a stalled socket is given up before its close arrives)
    }
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(delay * 2, this.options.maxDelayMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.options.open();
    }, delay);
    this.reconnectTimer.unref?.();
  }

  /** No reconnect any more (the pending one cancelled). */
  close(): void {
    this.closed = true;
    if (this.reconnectTimer) {
      clearTimeout(this.reconnectTimer);
    }
  }
}
