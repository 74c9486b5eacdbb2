import type { PGlite } from '@electric-sql/pglite';
import { PglitePgConnection } from '@electric-sql/pglite/node-postgres';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { PACKAGE_ROOT } from '../../../config/package-root.js';
import { DataDirLock } from './data-dir.lock.js';
import type { EmbeddedReply, EmbeddedRequest, EmbeddedWorkerData, WireMessage } from './embedded-postgres.protocol.js';

const here = fileURLToPath(import.meta.url);
/** The compiled worker beside this file in dist/, or (jest runs the TypeScript) the one `npm run build` made. */
export const EMBEDDED_WORKER_FILE = here.endsWith('.js')
  ? join(dirname(here), 'embedded-postgres.worker.js')
  : resolve(PACKAGE_ROOT, 'dist', 'retrieval', 'store', 'embedded', 'embedded-postgres.worker.js');

/**
 * Extended-protocol messages that PostgreSQL answers only once a Sync or Flush follows: Parse, Bind,
 * Describe, Execute, Close (type bytes). node-postgres writes a statement as Parse, Bind, Describe,
 * Execute and Sync in one synchronous run (or Close and Sync when binding a value fails; Flush for a
 * cursor), and the connector hands each to the worker separately, waiting for each answer: five
 * thread hops per statement. Held here until the Sync or Flush and sent with it, they make one hop.
 */
const ANSWERED_AT_SYNC = new Set([0x50, 0x42, 0x44, 0x45, 0x43]);

interface Pending {
  resolve: (messages: WireMessage[]) => void;
  reject: (error: Error) => void;
}

/**
 * The embedded store: PGlite (Postgres 18 + pgvector in WASM) in a worker thread this class owns,
 * reached through node-postgres like any PostgreSQL. Each pg client gets its own PglitePgConnection
 * whose "server" is the worker: wire-protocol bytes go over, parsed backend messages come back.
 * A worker that dies (an uncaught error, process.exit, a WASM abort) fails what was in flight and
 * is reported to `onExit`; `start()` again makes a new one on the same DATA_DIR, whose lock this
 * process keeps held in between.
 */
export class EmbeddedPostgres {
  private worker?: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private exitReason?: string;
  private closing = false;
  private readonly lock: DataDirLock;
  /** What the node-postgres connector needs of a PGlite: readiness and one protocol exchange. */
  private readonly backend: Pick<PGlite, 'waitReady' | 'execProtocolStream'>;
  private ready: Promise<void> = Promise.resolve();
  /** Exchanges with the worker so far (one per statement, simple or extended): for tests and experiments. */
  trips = 0;
  /** Messages held until the Sync or Flush that ends their statement (ANSWERED_AT_SYNC). */
  private held: Uint8Array[] = [];

  private readonly onExit: (reason: string) => void;
  private readonly workerFile: string;

  constructor(
    private readonly dataDir: string,
    options: {
      /** Called when a started worker ends without close(): why. */
      onExit?: (reason: string) => void;
      /** The worker's script (tests give one that can be made to crash). */
      workerFile?: string;
    } = {},
  ) {
    this.onExit = options.onExit ?? (() => undefined);
    this.workerFile = options.workerFile ?? EMBEDDED_WORKER_FILE;
    this.lock = new DataDirLock(dataDir);
    this.backend = {
      waitReady: Promise.resolve(),
      execProtocolStream: ((bytes: Uint8Array) => this.exec(bytes)) as unknown as PGlite['execProtocolStream'],
    };
    Object.defineProperty(this.backend, 'waitReady', { get: () => this.ready });
  }

  /** Locks DATA_DIR at once on the first call (throws DataDirLockedError), then opens the database in a new worker. */
  start(): Promise<void> {
    this.lock.acquire();
    if (this.worker) return this.ready;
    this.exitReason = undefined;
    this.held = [];
    const workerData: EmbeddedWorkerData = { dataDir: this.dataDir };
    const worker = new Worker(this.workerFile, { workerData });
    this.worker = worker;
    let failure: string | undefined;
    this.ready = new Promise<void>((resolveReady, rejectReady) => {
      worker.on('message', (reply: EmbeddedReply) => {
        if (reply.kind === 'ready') resolveReady();
        else if (reply.kind === 'failed') {
          failure = `The embedded store could not open ${this.dataDir}: ${reply.message}`;
          rejectReady(new Error(failure));
        } else this.settle(reply);
      });
      worker.on('error', (error) => {
        failure ??= `the embedded store's worker failed: ${error.message}`;
        rejectReady(new Error(failure));
      });
      worker.on('exit', (code) => {
        const reason = this.closing ? 'the embedded store is closed' : (failure ?? `the embedded store's worker exited (code ${code})`);
        this.exitReason = reason;
        rejectReady(new Error(reason));
        for (const { reject } of this.pending.values()) reject(new Error(reason));
        this.pending.clear();
        if (this.worker === worker) this.worker = undefined;
        if (!this.closing) this.onExit(reason);
      });
    });
    // Callers see the failure through `ready`; nothing else may be left unhandled.
    this.ready.catch(() => undefined);
    return this.ready;
  }

  /** Ends the worker at once, as a crash would (in-flight statements fail, `onExit` is told): for tests of recovery. */
  async terminate(): Promise<void> {
    await this.worker?.terminate();
  }

  /** Why the worker is gone, if it is. */
  get failure(): string | undefined {
    return this.worker ? undefined : (this.exitReason ?? 'the embedded store is not open');
  }

  /** A pool of one: PGlite has a single session, so clients take turns (and each gets a fresh connection). */
  createPool(options: Pick<pg.PoolConfig, 'onConnect'>): pg.Pool {
    const backend = this.backend;
    class WorkerClient extends pg.Client {
      constructor(config?: pg.ClientConfig) {
        super({ ...config, connection: new ConvertingConnection({ pglite: backend as PGlite }) } as pg.ClientConfig);
      }
    }
    return new pg.Pool({ Client: WorkerClient, max: 1, ...options });
  }

  async close(): Promise<void> {
    this.closing = true;
    const worker = this.worker;
    if (worker) {
      await Promise.race([this.request({ op: 'close' }).catch(() => undefined), new Promise((r) => setTimeout(r, 10_000).unref())]);
      await worker.terminate();
    }
    this.lock.release();
  }

  /**
   * One message from the connector; its answer messages (those of held messages come with the Sync's).
   * The connector sends the next message only once this resolves, so holding answers [] at once.
   */
  private exec(bytes: Uint8Array): Promise<Array<pg.DatabaseError | WireMessage>> {
    if (ANSWERED_AT_SYNC.has(bytes[0])) {
      this.held.push(bytes);
      return Promise.resolve([]);
    }
    let batch = bytes;
    if (this.held.length > 0) {
      batch = Buffer.concat([...this.held, bytes]);
      this.held = [];
    }
    this.trips++;
    return this.request({ op: 'exec', bytes: batch }).then((messages) => messages.map(revive));
  }

  private request(body: { op: 'exec'; bytes: Uint8Array } | { op: 'close' }): Promise<WireMessage[]> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new Error(this.failure));
    const id = this.nextId++;
    return new Promise<WireMessage[]>((resolvePromise, reject) => {
      this.pending.set(id, { resolve: resolvePromise, reject });
      worker.postMessage({ id, ...body } as EmbeddedRequest);
    });
  }

  private settle(reply: Extract<EmbeddedReply, { id: number }>): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    if (reply.kind === 'result') pending.resolve(reply.messages);
    else pending.reject(new Error(reply.message));
  }
}

interface BindConfig {
  values?: unknown[];
  valueMapper?: (value: unknown, index: number) => unknown;
}

/**
 * The connector, with a statement's values converted before its Bind is written. node-postgres hands
 * the connector a converter (Date, JSON, arrays to text); the connector's bundled serializer calls it
 * while writing into a buffer it shares between messages and does not clear that buffer when a
 * conversion throws, so the half-written Bind corrupted the next statement (08P01 "invalid message
 * format"). Converted first, a value that cannot be sent fails its query before anything is written.
 */
class ConvertingConnection extends PglitePgConnection {
  override bind(config: BindConfig): void {
    const { values, valueMapper } = config;
    super.bind(values && valueMapper ? { ...config, values: values.map((value, i) => valueMapper(value, i)), valueMapper: undefined } : config);
  }
}

/** Errors cross the thread as plain fields; node-postgres expects a DatabaseError (code = SQLSTATE). */
function revive(message: WireMessage): pg.DatabaseError | WireMessage {
  if (message.name !== 'error') return message;
  const error = new pg.DatabaseError(String(message.message ?? 'error'), Number(message.length ?? 0), 'error');
  return Object.assign(error, message, { name: 'error' });
}
