import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** What crossed the proxy: round trips and commits, as the PostgreSQL protocol carried them. */
export interface WireCounts {
  /** Sync messages (one per extended-protocol statement, each a round trip). */
  syncs: number;
  /** Simple-protocol Query messages (each a round trip). */
  queries: number;
  /** CommandComplete `COMMIT`: an explicit transaction committed. */
  commits: number;
  /** CommandComplete of a statement run outside any transaction (its own implicit commit). */
  implicitCommits: number;
  /** Of those, the ones that wrote (INSERT, UPDATE, DELETE, MERGE): each a durable commit. */
  implicitWrites: number;
  rollbacks: number;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

const zero = (): WireCounts => ({
  syncs: 0,
  queries: 0,
  commits: 0,
  implicitCommits: 0,
  implicitWrites: 0,
  rollbacks: 0,
});

/**
 * A TCP proxy between clients and PostgreSQL that reads both directions of the wire protocol (v3) and
 * counts, never changes, what passes: the client's Sync and Query messages (round trips) and the
 * server's CommandComplete tags (commits), using ReadyForQuery's transaction status to tell a statement
 * inside a transaction from one that commits on its own. Counted in all, and per connection's
 * `application_name` (from its StartupMessage; '' when it names none). With `trace`, the text of every
 * statement.
 */
export class CountingPgProxy {
  readonly counts: WireCounts = zero();
  /** The same counts, by the connections' `application_name`. */
  readonly byApplication = new Map<string, WireCounts>();
  /** `application_name: statement text` → times run (only with `trace`). */
  readonly statements = new Map<string, number>();
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly upstream: { host: string; port: number },
    private readonly trace = false,
  ) {}

  /** Listens on a free loopback port; returns it. */
  async listen(): Promise<number> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') {
      throw new Error('proxy has no TCP address');
    }
    return address.port;
  }

  snapshot(): WireCounts {
    return { ...this.counts };
  }

  /** The counts so far of the connections that named themselves `applicationName`. */
  snapshotOf(applicationName: string): WireCounts {
    return { ...(this.byApplication.get(applicationName) ?? zero()) };
  }

  async close(): Promise<void> {
    for (const s of this.sockets) {
      s.destroy();
    }
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: Socket): void {
    const server = createConnection(this.upstream);
    this.sockets.add(client).add(server);
    client.setNoDelay(true);
    server.setNoDelay(true);
    const session: Session = {
      status: 'I',
      startup: true,
      rawServerBytes: 0,
      named: new Map<string, string>(),
      application: '',
      counts: this.countsOf(''),
    };
    const fromClient = new MessageReader((type, body) => this.onClient(session, type, body));
    const fromServer = new MessageReader((type, body) => this.onServer(session, type, body));
    client.on('data', (chunk: Buffer) => {
      server.write(chunk);
      fromClient.push(chunk, session);
    });
    server.on('data', (chunk: Buffer) => {
      client.write(chunk);
      let rest = chunk;
      // The one-byte answer ('S'/'N') to an SSL or GSS encryption request is not a typed message.
      while (session.rawServerBytes > 0 && rest.length > 0) {
        rest = rest.subarray(1);
        session.rawServerBytes--;
      }
      if (rest.length > 0) {
        fromServer.push(rest, null);
      }
    });
    const end = () => {
      client.destroy();
      server.destroy();
      this.sockets.delete(client);
      this.sockets.delete(server);
    };
    client.on('close', end).on('error', end);
    server.on('close', end).on('error', end);
  }

  private onClient(session: Session, type: number, body: Buffer): void {
    if (type === 0) {
      // A startup-phase message: an encryption request is answered by one raw byte, then another follows.
      const code = body.length >= 4 ? body.readInt32BE(0) : 0;
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
        session.rawServerBytes++;
      } else {
        session.startup = false;
        if (code !== CANCEL_REQUEST) {
          session.application = startupParameters(body).get('application_name') ?? '';
          session.counts = this.countsOf(session.application);
        }
      }
      return;
    }
    const c = String.fromCharCode(type);
    if (c === 'S') {
      this.count(session, 'syncs');
    } else if (c === 'Q') {
      this.count(session, 'queries');
      if (this.trace) {
        this.note(session, cString(body, 0));
      }
    } else if (c === 'P' && this.trace) {
      const name = cString(body, 0);
      const text = cString(body, Buffer.byteLength(name) + 1);
      if (name) {
        session.named.set(name, text);
      }
      this.note(session, text);
    } else if (c === 'B' && this.trace) {
      const portal = cString(body, 0);
      const name = cString(body, Buffer.byteLength(portal) + 1);
      const text = name ? session.named.get(name) : undefined;
      if (text !== undefined) {
        this.note(session, text);
      }
    }
  }

  private onServer(session: Session, type: number, body: Buffer): void {
    const c = String.fromCharCode(type);
    if (c === 'Z') {
      session.status = String.fromCharCode(body[0] ?? 73);
    } else if (c === 'C') {
      const tag = cString(body, 0);
      if (tag === 'COMMIT') {
        this.count(session, 'commits');
      } else if (tag.startsWith('ROLLBACK')) {
        this.count(session, 'rollbacks');
      } else if (session.status === 'I' && tag !== 'BEGIN') {
        this.count(session, 'implicitCommits');
        if (/^(INSERT|UPDATE|DELETE|MERGE) /.test(tag)) {
          this.count(session, 'implicitWrites');
        }
      }
    }
  }

  private countsOf(applicationName: string): WireCounts {
    let counts = this.byApplication.get(applicationName);
    if (!counts) {
      counts = zero();
      this.byApplication.set(applicationName, counts);
    }
    return counts;
  }

  private count(session: Session, key: keyof WireCounts): void {
    this.counts[key]++;
    session.counts[key]++;
  }

  private note(session: Session, text: string): void {
    // One key per statement shape: a list of parameters of any length is one list.
    const key = `${session.application}: ${text}`
      .replace(/\s+/g, ' ')
      .replace(/\$\d+(, \$\d+)+/g, '$n, ...')
      .trim();
    this.statements.set(key, (this.statements.get(key) ?? 0) + 1);
  }
}

interface Session {
  status: string;
  startup: boolean;
  rawServerBytes: number;
  named: Map<string, string>;
  /** The connection's `application_name`, and its counts. */
  application: string;
  counts: WireCounts;
}

/** A StartupMessage's parameters: after the protocol version, name and value pairs of C strings. */
function startupParameters(body: Buffer): Map<string, string> {
  const parameters = new Map<string, string>();
  let at = 4;
  while (at < body.length && body[at] !== 0) {
    const name = cString(body, at);
    at += Buffer.byteLength(name) + 1;
    const value = cString(body, at);
    at += Buffer.byteLength(value) + 1;
    parameters.set(name, value);
  }
  return parameters;
}

function cString(buf: Buffer, from: number): string {
  const end = buf.indexOf(0, from);
  return buf.toString('utf8', from, end < 0 ? buf.length : end);
}

/**
 * Splits a byte stream into protocol messages: `type` (one byte), a length counting itself, the body.
 * A client's startup-phase messages have no type byte: they are reported with type 0.
 */
class MessageReader {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onMessage: (type: number, body: Buffer) => void) {}

  push(chunk: Buffer, session: Session | null): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      const startup = session?.startup === true;
      const header = startup ? 4 : 5;
      if (this.pending.length < header) {
        return;
      }
      const length = this.pending.readInt32BE(startup ? 0 : 1);
      const total = startup ? length : length + 1;
      if (this.pending.length < total) {
        return;
      }
      const type = startup ? 0 : (this.pending[0] ?? 0);
      this.onMessage(type, this.pending.subarray(header, total));
      this.pending = this.pending.subarray(total);
    }
  }
}
