import type { Order } from '@gateway/oms';

/** A submission under way in this process: settled with the order as its answer committed it. */
export interface PendingAnswer {
  /** `order`: as the answer's transaction committed it; null when it recorded nothing (the order gone, a failure). */
  settle(order: Order | null): void;
}

/**
 * The submissions this process has sent and whose answers it is still recording, by order id, so that
 * the broker's acknowledgement of one (which often arrives before the submit's answer, and would wait for
 * the account lock only to find the answer recorded) can wait for that answer in memory instead. The
 * order as the answer committed it is committed state, so ExecutionReportProcessor's `changesNothing`
 * test on it is as sound as on a read. A report for an order submitted elsewhere (another instance, before
 * a restart) finds nothing here and takes the usual path. One per process, kept by the OrderLedger.
 */
export class SubmissionAnswers {
  private readonly pending = new Map<string, Promise<Order | null>>();

  /** Registers the submission of `orderId`, before the broker is called; settle it once, in every outcome. */
  expect(orderId: string): PendingAnswer {
    let resolve!: (order: Order | null) => void;
    const answer = new Promise<Order | null>((r) => (resolve = r));
    this.pending.set(orderId, answer);
    return {
      settle: (order) => {
        if (this.pending.get(orderId) === answer) {
          this.pending.delete(orderId);
        }
        resolve(order);
      },
    };
  }

  /**
   * The order as the answer to its submission committed it, when that submission is under way here and
   * its answer is recorded within `waitMs`; null otherwise (not here, not yet, or it recorded nothing).
   */
  async answered(orderId: string, waitMs: number): Promise<Order | null> {
    const answer = this.pending.get(orderId);
    if (!answer) {
      return null;
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), waitMs);
    });
    try {
      return await Promise.race([answer, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
