import { Injectable, Logger, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import pg from 'pg';
import { NotConfiguredError } from '../../common/errors/index.js';
import { AppConfig } from '../../config/app-config.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { StoreUnavailableError } from '../errors/store-unavailable.error.js';
import { EmbeddedPostgres } from './embedded/embedded-postgres.js';
import { EmbeddedStatistics } from './embedded/embedded-statistics.js';
import { runMigrations } from './migrations.js';
import type { PoolSource } from './pg-vector.store.js';

/**
 * The SET statements every session of the store starts with: the statement timeout, HNSW's search
 * candidate list, and pgvector's iterative scan (the last fails harmlessly before pgvector 0.8).
 * Exported so the benchmark times the same SQL with the same settings straight against the store.
 */
export function sessionSettings(retrieval: Pick<AppConfig['retrieval'], 'statementTimeoutMs' | 'hnsw'>): [string, string, string] {
  return [
    `SET statement_timeout = ${Math.trunc(retrieval.statementTimeoutMs)}`,
    `SET hnsw.ef_search = ${Math.trunc(retrieval.hnsw.efSearch)}`,
    'SET hnsw.iterative_scan = strict_order',
  ];
}

export type StoreBackend = 'embedded' | 'postgres';
export type StoreState = 'off' | 'opening' | 'up' | 'down';

/** After a failed attempt to reach a DATABASE_URL server, the next request tries again no sooner than this. */
const RETRY_MS = 2_000;
/** An embedded worker that died is restarted after this, doubling per failure in a row up to the cap. */
const RESTART_FIRST_MS = 500;
const RESTART_MAX_MS = 30_000;
/** A worker that ran this long before dying starts the backoff afresh. */
const RESTART_STABLE_MS = 60_000;

/**
 * The store's connection, owned by Nest: the pg.Pool for DATABASE_URL, or the embedded PGlite worker
 * (DATA_DIR locked at start-up, the worker made at start-up and closed at shutdown). Migrations run
 * when it opens. A store that cannot be reached fails only the calls that need it, with a 503 saying why.
 */
@Injectable()
export class StoreConnection implements PoolSource, OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(StoreConnection.name);
  private embedded?: EmbeddedPostgres;
  /** The embedded store's ANALYZE (PGlite has no autovacuum). */
  private statistics?: EmbeddedStatistics;
  private current?: pg.Pool;
  private opening?: Promise<void>;
  private lastAttempt = 0;
  private status: StoreState = 'off';
  private reason?: string;
  private restartTimer?: NodeJS.Timeout;
  private restartAt = 0;
  private restarts = 0;
  private upSince = 0;

  constructor(
    private readonly config: AppConfig,
    @Optional() metrics?: MetricsService,
  ) {
    if (config.retrieval.enabled) {
      metrics?.gauge('ballast_vector_store_up', '1 while the retrieval store is open and answering, 0 while it is opening or down, by backend (embedded, postgres)', () => [
        { labels: { backend: this.backend }, value: this.state.state === 'up' ? 1 : 0 },
      ], ['backend']);
    }
  }

  get backend(): StoreBackend {
    return this.config.retrieval.databaseUrl ? 'postgres' : 'embedded';
  }

  get state(): { state: StoreState; backend: StoreBackend; reason?: string } {
    const embeddedFailure = this.status === 'up' ? this.embedded?.failure : undefined;
    if (embeddedFailure) return { state: 'down', backend: this.backend, reason: embeddedFailure };
    if (this.reason === undefined) return { state: this.status, backend: this.backend };
    const restart = this.restartTimer ? `; restarting it in ${Math.max(0, Math.round(this.restartAt - Date.now()))} ms (attempt ${this.restarts})` : '';
    return { state: this.status, backend: this.backend, reason: this.reason + restart };
  }

  onModuleInit(): void {
    const { enabled, databaseUrl, dataDir } = this.config.retrieval;
    if (!enabled) return;
    if (databaseUrl) {
      this.current = new pg.Pool({
        connectionString: databaseUrl,
        max: this.config.retrieval.poolMax,
        connectionTimeoutMillis: 5_000,
        onConnect: (client) => this.configureSession(client, false),
      });
      // An idle client whose server went away: the next query reconnects; only log it.
      this.current.on('error', (error) => this.logger.warn(`vector store connection lost: ${error.message}`));
    } else {
      this.embedded = new EmbeddedPostgres(dataDir, { onExit: (reason) => this.embeddedExited(reason), nice: this.config.retrieval.storeNice });
      this.statistics = new EmbeddedStatistics(() => this.pool(), (message) => this.logger.warn(message));
    }
    // Locking DATA_DIR happens here, synchronously: a second process fails its start-up with the reason.
    this.open();
  }

  /** The embedded store, if that is the backend (tests end its worker to check recovery). */
  get embeddedStore(): EmbeddedPostgres | undefined {
    return this.embedded;
  }

  /** The embedded store's statistics keeper, if that is the backend (tests wait for its ANALYZE). */
  get embeddedStatistics(): EmbeddedStatistics | undefined {
    return this.statistics;
  }

  /** The adapter wrote or deleted `count` chunk rows: the embedded store may ANALYZE (a server's autovacuum does). */
  rowsChanged(count: number): void {
    this.statistics?.rowsChanged(count);
  }

  async onApplicationShutdown(): Promise<void> {
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.opening?.catch(() => undefined);
    // An ANALYZE under way finishes first (it samples at most 30,000 rows, whatever the table).
    await this.statistics?.settled;
    const pool = this.current;
    this.current = undefined;
    this.status = 'off';
    await pool?.end().catch(() => undefined);
    await this.embedded?.close();
  }

  /** The pool, once the store is open and migrated; a 503 while it is opening too long, down, or off. */
  async pool(): Promise<pg.Pool> {
    if (!this.config.retrieval.enabled) throw new NotConfiguredError('Retrieval is switched off (RETRIEVAL_ENABLED=false)');
    if (this.status === 'down' && this.embedded === undefined && Date.now() - this.lastAttempt >= RETRY_MS) this.open();
    await this.opening;
    const failure = this.state;
    if (failure.state !== 'up' || !this.current) throw new StoreUnavailableError(`The vector store (${this.backend}) is unavailable: ${failure.reason ?? 'not open'}`);
    return this.current;
  }

  private open(): void {
    this.lastAttempt = Date.now();
    this.status = 'opening';
    const started = this.embedded ? this.embedded.start() : Promise.resolve();
    this.opening = started
      .then(async () => {
        if (this.embedded && !this.current) this.current = this.embedded.createPool({ onConnect: (client) => this.configureSession(client, true) });
        const applied = await runMigrations(this.current!);
        if (applied.length > 0) this.logger.log(`vector store migrated to version ${applied[applied.length - 1]}`);
        await this.statistics?.opened(this.current!).catch((error: unknown) => this.logger.warn(`embedded store statistics not read: ${String(error)}`));
        this.status = 'up';
        this.reason = undefined;
        this.upSince = Date.now();
      })
      .catch((error: unknown) => {
        this.status = 'down';
        this.reason = error instanceof Error ? error.message : String(error);
        this.logger.error(`vector store (${this.backend}) unavailable: ${this.reason}`);
        if (this.embedded) this.scheduleRestart();
      });
  }

  /**
   * The embedded store's worker died (an uncaught error, process.exit, a WASM abort): retrieval answers
   * 503 with the reason meanwhile, and a new worker opens DATA_DIR again (PostgreSQL's crash recovery
   * replays its WAL) after a backoff. The pool goes with the old worker: its sessions' settings did too.
   */
  private embeddedExited(reason: string): void {
    if (this.status === 'off') return;
    if (this.upSince > 0 && Date.now() - this.upSince >= RESTART_STABLE_MS) this.restarts = 0;
    this.upSince = 0;
    this.status = 'down';
    this.reason = reason;
    const pool = this.current;
    this.current = undefined;
    pool?.end().catch(() => undefined);
    this.logger.error(`vector store (embedded) unavailable: ${reason}`);
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.restartTimer || this.status === 'off') return;
    const delay = Math.min(RESTART_FIRST_MS * 2 ** this.restarts, RESTART_MAX_MS);
    this.restarts++;
    this.restartAt = Date.now() + delay;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.status === 'off') return;
      this.logger.warn(`restarting the embedded vector store (attempt ${this.restarts})`);
      this.open();
    }, delay);
    this.restartTimer.unref();
  }

  /**
   * Session settings for every new client. The embedded store has one session behind all clients,
   * so a new client first clears what a discarded one may have left (an open transaction, prepared
   * statements); the settings are the same for everyone, so setting them per session is safe.
   */
  private async configureSession(client: pg.ClientBase, shared: boolean): Promise<void> {
    if (shared) {
      await client.query('ROLLBACK');
      await client.query('DISCARD ALL');
    }
    const [timeout, efSearch, iterative] = sessionSettings(this.config.retrieval);
    await client.query(timeout);
    await client.query(efSearch);
    // pgvector 0.8+: with a metadata filter, keep scanning the index until top_k rows pass it.
    await client.query(iterative).catch(() => undefined);
  }
}
