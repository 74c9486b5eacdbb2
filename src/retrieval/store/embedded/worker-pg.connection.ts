import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { serialize } from 'pg-protocol';
import type { WireMessage } from './embedded-postgres.protocol.js';

/** A backend message as node-postgres expects it (an error as a DatabaseError). */
export type BackendMessage = pg.DatabaseError | WireMessage;

/**
 * What the connection needs of the embedded store: readiness, and one exchange of protocol bytes for
 * their answers. `owned`: no one else holds the bytes' memory, so it may be moved to the worker, not copied.
 */
export interface ProtocolExchange {
  readonly ready: Promise<void>;
  exchange(bytes: Buffer, owned: boolean): Promise<BackendMessage[]>;
}

interface BindConfig {
  portal?: string;
  statement?: string;
  binary?: boolean;
  values?: unknown[];
  valueMapper?: (value: unknown, index: number) => unknown;
}

/**
 * node-postgres's connection to the embedded store, in place of a socket (what PGlite's own
 * node-postgres connector does, which this replaces). Two differences, both measured:
 * - Messages are written by pg-protocol, node-postgres's own serializer on a socket, which writes
 *   strings natively. The connector's bundled serializer walks every character in JS and grows its
 *   buffer by copies: a Bind carrying a 1,536-dim vector literal (~18 KB) took ~150 µs of the event
 *   loop there, ~14 µs here.
 * - Parse, Bind, Describe, Execute and Close, which PostgreSQL answers only once a Sync or Flush
 *   follows, are kept until it comes and leave with it: one exchange with the worker per statement.
 *   node-postgres writes a statement's messages in one synchronous run, so nothing waits for them.
 * Exchanges run one after another, in order (the wire protocol of one session is a sequence).
 */
export class WorkerPgConnection extends EventEmitter {
  _connecting = false;
  _ending = false;
  readonly parsedStatements: Record<string, string> = {};
  readonly submittedNamedStatements: Record<string, string> = {};
  readonly stream = { destroy: (): void => this.end() };
  private queue: Promise<unknown> = Promise.resolve();
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** node-postgres listens to 'message' only in some modes; each message is emitted under its name regardless. */
  private messageListened = false;

  constructor(private readonly store: ProtocolExchange) {
    super();
    this.on('newListener', (event: string) => {
      if (event === 'message') this.messageListened = true;
    });
  }

  connect(): void {
    this._connecting = true;
    this.queue = this.store.ready.then(
      () => process.nextTick(() => this.emit('readyForQuery')),
      (error: unknown) => this.emit('error', error),
    );
  }

  // No TLS, authentication or cancel requests: the worker is the server, in this process.
  requestSsl(): void {}
  startup(): void {}
  cancel(): void {}
  password(): void {}

  query(text: string): void {
    this.send(serialize.query(text));
  }

  parse(query: { text: string; name?: string; types?: number[] }): void {
    this.hold(serialize.parse(query));
  }

  /** pg-protocol clears its writer when a value's conversion throws, so a half-written Bind never reaches the next statement. */
  bind(config: BindConfig): void {
    this.hold(serialize.bind(config as Parameters<typeof serialize.bind>[0]));
  }

  describe(message: { type: 'S' | 'P'; name?: string }): void {
    this.hold(serialize.describe(message));
  }

  execute(config?: { portal?: string; rows?: number }): void {
    this.hold(serialize.execute(config));
  }

  close(message: { type: 'S' | 'P'; name?: string }): void {
    this.hold(serialize.close(message));
  }

  flush(): void {
    this.send(serialize.flush());
  }

  sync(): void {
    this.send(serialize.sync());
  }

  sendCopyFromChunk(chunk: Buffer): void {
    this.send(serialize.copyData(chunk));
  }

  endCopyFrom(): void {
    this.send(serialize.copyDone());
  }

  sendCopyFail(message: string): void {
    this.send(serialize.copyFail(message));
  }

  sendSASLInitialResponseMessage(mechanism: string, response: string): void {
    this.send(serialize.sendSASLInitialResponseMessage(mechanism, response));
  }

  sendSCRAMClientFinalMessage(data: string): void {
    this.send(serialize.sendSCRAMClientFinalMessage(data));
  }

  /** As the connector does: listeners go at once; 'end' follows the exchanges already queued (for listeners added after). */
  end(): void {
    this.held = [];
    this.heldBytes = 0;
    this.queue = this.queue.then(() => this.emit('end'));
    for (const event of this.eventNames()) if (event !== 'newListener') this.removeAllListeners(event);
    this.messageListened = false;
  }

  ref(): void {}
  unref(): void {}

  private hold(bytes: Buffer): void {
    this.held.push(bytes);
    this.heldBytes += bytes.length;
  }

  /** The held messages and this one, in one exchange; their answers emitted in order. */
  private send(bytes: Buffer): void {
    let batch = bytes;
    // A message of pg-protocol's may be one of its shared constants (Sync, Flush): only a concatenation is ours alone.
    let owned = false;
    if (this.held.length > 0) {
      this.held.push(bytes);
      batch = Buffer.concat(this.held, this.heldBytes + bytes.length);
      owned = true;
      this.held = [];
      this.heldBytes = 0;
    }
    this.queue = this.queue
      .then(() => this.store.exchange(batch, owned))
      .then((messages) => {
        for (const message of messages) {
          if (this.messageListened) this.emit('message', message);
          this.emit(message.name === 'error' ? 'errorMessage' : message.name, message);
        }
      })
      .catch((error: unknown) => {
        this.emit('error', error);
      });
  }
}
