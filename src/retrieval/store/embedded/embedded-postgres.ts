import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { PACKAGE_ROOT } from '../../../config/package-root.js';
import { DataDirLock } from './data-dir.lock.js';
import type { EmbeddedReply, EmbeddedRequest, EmbeddedWorkerData, WireMessage } from './embedded-postgres.protocol.js';
import { BackendMessage, ProtocolExchange, WorkerPgConnection } from './worker-pg.connection.js';

const here = fileURLToPath(import.meta.url);
/** The compiled worker beside this file in dist/, or (jest runs the TypeScript) the one `npm run build` made. */
export const EMBEDDED_WORKER_FILE = here.endsWith('.js')
  ? join(dirname(here), 'embedded-postgres.worker.js')
  : resolve(PACKAGE_ROOT, 'dist', 'retrieval', 'store', 'embedded', 'embedded-postgres.worker.js');

/** Below this, Buffer.concat takes its bytes from Node's shared pool (never moved: other Buffers live there). */
const MOVE_MIN_BYTES = 4096;

interface Pending {
  resolve: (messages: WireMessage[]) => void;
  reject: (error: Error) => void;
}

/**
 * The embedded store: PGlite (Postgres 18 + pgvector in WASM) in a worker thread this class owns,
 * reached through node-postgres like any PostgreSQL. Each pg client gets its own WorkerPgConnection
 * whose "server" is the worker: wire-protocol bytes go over (one exchange per statement), parsed
 * backend messages come back.
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
  /** What each connection needs of the store: readiness and one protocol exchange. */
  private readonly backend: ProtocolExchange;
  private ready: Promise<void> = Promise.resolve();
  /** Exchanges with the worker so far (one per statement, simple or extended): for tests and experiments. */
  trips = 0;

  private readonly onExit: (reason: string) => void;
  private readonly workerFile: string;
  private readonly nice: number;

  constructor(
    private readonly dataDir: string,
    options: {
      /** Called when a started worker ends without close(): why. */
      onExit?: (reason: string) => void;
      /** The worker's script (tests give one that can be made to crash). */
      workerFile?: string;
      /** Niceness of the worker's thread (0 = the event loop's). */
      nice?: number;
    } = {},
  ) {
    this.onExit = options.onExit ?? (() => undefined);
    this.workerFile = options.workerFile ?? EMBEDDED_WORKER_FILE;
    this.nice = options.nice ?? 0;
    this.lock = new DataDirLock(dataDir);
    const exchange = (bytes: Buffer, owned: boolean): Promise<BackendMessage[]> => this.exchange(bytes, owned);
    const ready = (): Promise<void> => this.ready;
    this.backend = {
      get ready() {
        return ready();
      },
      exchange,
    };
  }

  /** Locks DATA_DIR at once on the first call (throws DataDirLockedError), then opens the database in a new worker. */
  start(): Promise<void> {
    this.lock.acquire();
    if (this.worker) return this.ready;
    this.exitReason = undefined;
    const workerData: EmbeddedWorkerData = { dataDir: this.dataDir, nice: this.nice };
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
        super({ ...config, connection: new WorkerPgConnection(backend) } as unknown as pg.ClientConfig);
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

  /** One statement's messages to the worker; its backend messages back. */
  private exchange(bytes: Buffer, owned: boolean): Promise<BackendMessage[]> {
    this.trips++;
    // Bytes in memory of their own (Buffer.concat over 4 KB: a vector literal, an INSERT) move to the worker instead of being copied.
    const movable = owned && bytes.byteLength >= MOVE_MIN_BYTES && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    return this.request({ op: 'exec', bytes }, movable ? [bytes.buffer as ArrayBuffer] : []).then((messages) => messages.map(revive));
  }

  private request(body: { op: 'exec'; bytes: Uint8Array } | { op: 'close' }, transfer: ArrayBuffer[] = []): Promise<WireMessage[]> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new Error(this.failure));
    const id = this.nextId++;
    return new Promise<WireMessage[]>((resolvePromise, reject) => {
      this.pending.set(id, { resolve: resolvePromise, reject });
      worker.postMessage({ id, ...body } as EmbeddedRequest, transfer);
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

/** Errors cross the thread as plain fields; node-postgres expects a DatabaseError (code = SQLSTATE). */
function revive(message: WireMessage): pg.DatabaseError | WireMessage {
  if (message.name !== 'error') return message;
  const error = new pg.DatabaseError(String(message.message ?? 'error'), Number(message.length ?? 0), 'error');
  return Object.assign(error, message, { name: 'error' });
}
