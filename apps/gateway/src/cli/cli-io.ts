import { SingleBar } from 'cli-progress';

/**
 * Exit statuses of the admin CLI: 0 done; 1 the command failed or was refused (a 4xx, a broken audit
 * chain, a job that failed); 2 it could not run (bad arguments or configuration, the gateway, database or
 * KMS unreachable, a 5xx).
 */
export const EXIT_FAILED = 1;
export const EXIT_UNAVAILABLE = 2;

/** A failure the CLI reports in one line (and as `{ "error": { code, message } }` with `--json`). */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILED,
    readonly code: string = 'cli.failed',
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** The options every command takes from the program. */
export interface GlobalOptions {
  /** Machine-readable output: one JSON document on stdout, JSON lines of progress on stderr. */
  readonly json?: boolean;
  /** The gateway's base URL (default GATEWAY_URL, else http://127.0.0.1:$PORT). */
  readonly url?: string;
  /** A bearer token to call the gateway with (default GATEWAY_TOKEN, else a short-lived dev-issuer admin token). */
  readonly token?: string;
}

/** Prints a command's result: the JSON document with `--json`, else the human text. */
export function emit(options: GlobalOptions, result: unknown, text: string | (() => string)): void {
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const line = typeof text === 'function' ? text() : text;
  process.stdout.write(line.endsWith('\n') ? line : `${line}\n`);
}

/** Prints a failure and sets the exit status. */
export function fail(options: GlobalOptions, error: unknown): void {
  const known = error instanceof CliError ? error : null;
  const message = error instanceof Error ? error.message : String(error);
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ error: { code: known?.code ?? 'cli.unavailable', message, details: known?.details } }, null, 2)}\n`,
    );
  } else {
    process.stderr.write(`gateway: ${message}\n`);
  }
  process.exitCode = known?.exitCode ?? EXIT_UNAVAILABLE;
}

/**
 * Progress of long work: a bar on a terminal, a line per step otherwise, JSON lines with `--json`
 * (`{"progress":{"done":N,"total":M}}`), all on stderr so stdout keeps only the result.
 */
export class Progress {
  private bar: SingleBar | null = null;
  private lastLine = 0;

  constructor(
    private readonly options: GlobalOptions,
    private readonly label: string,
  ) {}

  /** `details`: more of where the work stands, in the JSON lines only. */
  update(done: number, total: number, details: Record<string, unknown> = {}): void {
    if (this.options.json) {
      process.stderr.write(`${JSON.stringify({ progress: { label: this.label, done, total, ...details } })}\n`);
      return;
    }
    if (process.stderr.isTTY) {
      if (!this.bar) {
        this.bar = new SingleBar({
          format: `${this.label} [{bar}] {value}/{total} {percentage}%`,
          stream: process.stderr,
        });
        this.bar.start(total, done);
      }
      this.bar.setTotal(total);
      this.bar.update(done);
      return;
    }
    // Without a terminal: a line at most each second, and the last one.
    const now = Date.now();
    if (done === total || now - this.lastLine >= 1_000) {
      this.lastLine = now;
      process.stderr.write(`${this.label}: ${done}/${total}\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
