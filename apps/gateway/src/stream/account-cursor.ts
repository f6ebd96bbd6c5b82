import type { StreamEvent } from '../orders/stream-event.js';

/** Events read from PostgreSQL per query while catching up. */
export const REPLAY_PAGE = 500;

/**
 * One account subscription's cursor. Events reach it from the bus (best effort) and from PostgreSQL
 * (the record): it sends exactly the events with seq = lastSent + 1, in order, drops what it has
 * already sent, and on a gap reads the missing events from PostgreSQL. So a replay from `fromSeq`
 * joins the live flow with nothing lost and nothing doubled.
 */
export class AccountCursor {
  private catchingUp = false;
  /** Something newer than lastSent was offered while catching up: read again before stopping. */
  private pending = false;
  private closed = false;

  constructor(
    readonly accountId: string,
    private lastSent: number,
    private readonly send: (event: StreamEvent) => boolean,
    private readonly load: (after: number) => Promise<StreamEvent[]>,
    private readonly onError: (error: unknown) => void,
  ) {}

  offer(event: StreamEvent): void {
    if (this.closed || event.seq <= this.lastSent) {
      return;
    }
    if (!this.catchingUp && event.seq === this.lastSent + 1) {
      this.emit(event);
      return;
    }
    this.pending = true;
    void this.catchUp();
  }

  /** Reads from PostgreSQL until nothing newer is there. Idempotent while running. */
  async catchUp(): Promise<void> {
    if (this.catchingUp || this.closed) {
      return;
    }
    this.catchingUp = true;
    try {
      do {
        this.pending = false;
        for (;;) {
          const page = await this.load(this.lastSent);
          for (const event of page) {
            if (!this.emit(event)) {
              return;
            }
          }
          if (page.length < REPLAY_PAGE) {
            break;
          }
        }
      } while (this.pending);
    } catch (error) {
      this.onError(error);
    } finally {
      this.catchingUp = false;
    }
  }

  close(): void {
    this.closed = true;
  }

  private emit(event: StreamEvent): boolean {
    if (this.closed || event.seq !== this.lastSent + 1) {
      return !this.closed;
    }
    this.lastSent = event.seq;
    return this.send(event);
  }
}
