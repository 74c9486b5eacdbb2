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
        super({ ...config, connection: new PglitePgConnection({ pglite: backend as PGlite }) } as pg.ClientConfig);
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

  private exec(bytes: Uint8Array): Promise<Array<pg.DatabaseError | WireMessage>> {
    return this.request({ op: 'exec', bytes }).then((messages) => messages.map(revive));
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

/** Errors cross the thread as plain fields; node-postgres expects a DatabaseError (code = SQLSTATE). */
function revive(message: WireMessage): pg.DatabaseError | WireMessage {
  if (message.name !== 'error') return message;
  const error = new pg.DatabaseError(String(message.message ?? 'error'), Number(message.length ?? 0), 'error');
  return Object.assign(error, message, { name: 'error' });
}
