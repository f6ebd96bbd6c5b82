import type {
  CancelResult,
  ConnectionChange,
  ConnectionListener,
  ExecutionReportListener,
} from './execution-client.js';
import type { ExecutionReport } from './reports.js';

/**
 * What the HTTP brokers' clients (Alpaca, Schwab) share: one JSON request, the bounded memories of what a
 * stream already reported, and the fan-out to report and connection listeners. Each broker's own protocol
 * (paths, auth headers, error bodies, stream frames) stays in its client.
 */

/** A broker's HTTP answer: the status, the body parsed as JSON (text if it is not JSON, null if empty), `Location`. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly location: string | null;
}

/**
 * Sends `body` (when given) as JSON to `baseUrl` (a trailing `/` dropped) + `path` with `headers`, and reads
 * the whole answer. Throws what `fetchImpl` throws (no answer, aborted by `signal`).
 */
export async function requestJson(
  fetchImpl: typeof fetch,
  baseUrl: string,
  request: {
    readonly method: string;
    readonly path: string;
    readonly headers: Record<string, string>;
    readonly body: unknown;
    readonly signal?: AbortSignal | undefined;
  },
): Promise<HttpAnswer> {
  const headers = { ...request.headers };
  if (request.body !== undefined) {
    headers['content-type'] = 'application/json';
  }
  const res = await fetchImpl(`${baseUrl.replace(/\/$/, '')}${request.path}`, {
    method: request.method,
    headers,
    ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
    ...(request.signal ? { signal: request.signal } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // Not JSON (a proxy's page): kept as text.
  }
  return { status: res.status, body: parsed, location: res.headers.get('location') };
}

/** An error as one line, with its cause's message (fetch's `TypeError: fetch failed` hides the reason there). */
export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}

/** How many fill ids, messages and orders a client remembers (older ones are forgotten first). */
export const MEMORY = 50_000;

/** Keeps a Set or Map (insertion-ordered) to MEMORY entries after an add, forgetting the oldest. */
export function bounded<K>(collection: Set<K> | Map<K, unknown>): void {
  while (collection.size > MEMORY) {
    collection.delete(collection.keys().next().value!);
  }
}

/** How a client logs a listener's failure (pino's `(object, message)` shape). */
interface ErrorLogger {
  error(fields: object, message: string): void;
}

/**
 * A client's execution report and connection listeners. A listener that throws is logged (with the venue)
 * and the others are still called.
 */
export class BrokerListeners {
  private readonly reports = new Set<ExecutionReportListener>();
  private readonly connections = new Set<ConnectionListener>();

  constructor(
    private readonly venue: string,
    private readonly logger: ErrorLogger,
  ) {}

  onExecutionReport(listener: ExecutionReportListener): () => void {
    this.reports.add(listener);
    return () => {
      this.reports.delete(listener);
    };
  }

  /** Adds a connection listener; `down`, when given, is told to it at once (the stream is down now). */
  onConnectionChange(listener: ConnectionListener, down: ConnectionChange | null): () => void {
    this.connections.add(listener);
    if (down) {
      listener(down);
    }
    return () => {
      this.connections.delete(listener);
    };
  }

  emit(report: ExecutionReport): void {
    for (const listener of this.reports) {
      try {
        listener(report);
      } catch (error) {
        this.logger.error({ err: error, venue: this.venue }, 'execution report listener failed');
      }
    }
  }

  tellConnection(change: ConnectionChange): void {
    for (const listener of this.connections) {
      try {
        listener(change);
      } catch (error) {
        this.logger.error({ err: error, venue: this.venue }, 'connection listener failed');
      }
    }
  }
}

/**
 * A cancel's HTTP exchange as its result: no answer (`send` threw) or a 5xx → `unknown` (the order may be
 * cancelled); 200/204 → `accepted`; any other status → `rejected`. `broker` names the broker in the reasons
 * (`alpaca`, `schwab`); `describe` renders its error body as one line (never a header or token).
 */
export async function cancelOutcome(
  broker: string,
  send: () => Promise<HttpAnswer>,
  describe: (body: unknown) => string,
): Promise<CancelResult> {
  let answer: HttpAnswer;
  try {
    answer = await send();
  } catch (error) {
    return { kind: 'unknown', reason: `no answer from ${broker}: ${errorText(error)}` };
  }
  if (answer.status === 200 || answer.status === 204) {
    return { kind: 'accepted', raw: answer.body };
  }
  if (answer.status >= 500) {
    return { kind: 'unknown', reason: `${broker} answered ${answer.status}: ${describe(answer.body)}` };
  }
  return { kind: 'rejected', reason: `${broker} ${answer.status}: ${describe(answer.body)}`, raw: answer.body };
}
