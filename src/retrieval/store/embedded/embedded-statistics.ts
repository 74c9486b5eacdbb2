import type pg from 'pg';

/** ANALYZE once this many chunk rows changed since the last one, plus the share of the table below. */
export const ANALYZE_MIN_ROWS = 500;
/**
 * PostgreSQL's autovacuum analyzes after 10 % of a table changed; ANALYZE in WASM holds the store's one
 * session (~0.2 s at 10,000 rows, sampling at most 30,000), so here a fifth: over an ingest from empty,
 * the ANALYZEs sum to ~6 times the last one (~3 % of a 10,000-chunk ingest), where 10 % would be ~11 times.
 */
export const ANALYZE_TABLE_SHARE = 0.2;

const TABLES = 'retrieval_chunks, retrieval_documents';

/**
 * Keeps the embedded store's planner statistics current. PGlite runs no autovacuum, so nothing else
 * would ever ANALYZE its tables and the planner would guess: it took a collection of 10,000 chunks for a
 * few hundred and ANDed a bitmap of all of them into every text search (3.2 ms against 2.4 analyzed).
 * Rows written are counted (the adapter reports them); past the threshold, one ANALYZE runs through
 * the pool, between other statements. A DATABASE_URL server has autovacuum and gets none of this.
 */
export class EmbeddedStatistics {
  private changed = 0;
  private rowsAtLastAnalyze = 0;
  private running?: Promise<void>;

  constructor(
    private readonly pool: () => Promise<pg.Pool>,
    private readonly warn: (message: string) => void,
  ) {}

  /** The store (re)opened: a table never analyzed but holding rows (an earlier version's, or lost counts) is analyzed now. */
  async opened(pool: pg.Pool): Promise<void> {
    this.changed = 0;
    const tuples = await this.readRows(pool);
    // reltuples is -1 until the first ANALYZE.
    if (tuples < 0 && (await pool.query('SELECT 1 FROM retrieval_chunks LIMIT 1')).rowCount) this.start();
  }

  /** `count` chunk rows were written or deleted. */
  rowsChanged(count: number): void {
    this.changed += count;
    if (this.changed >= ANALYZE_MIN_ROWS + ANALYZE_TABLE_SHARE * this.rowsAtLastAnalyze) this.start();
  }

  /** The ANALYZE under way, if any (tests wait for it). */
  get settled(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private start(): void {
    if (this.running) return;
    const counted = this.changed;
    this.changed = 0;
    this.running = this.analyze()
      .catch((error: unknown) => {
        // The store down or closing: the rows stay counted, and the next write tries again.
        this.changed += counted;
        this.warn(`ANALYZE of the embedded store failed: ${error instanceof Error ? error.message : String(error)}`);
      })
      .finally(() => {
        this.running = undefined;
      });
  }

  private async analyze(): Promise<void> {
    const pool = await this.pool();
    await pool.query(`ANALYZE ${TABLES}`);
    await this.readRows(pool);
  }

  /** The planner's row count of the chunks table (-1: never analyzed), kept as the base of the next threshold. */
  private async readRows(pool: pg.Pool): Promise<number> {
    const { rows } = await pool.query<{ tuples: number }>(`SELECT reltuples::float8 AS tuples FROM pg_class WHERE oid = 'retrieval_chunks'::regclass`);
    const tuples = rows[0]?.tuples ?? 0;
    this.rowsAtLastAnalyze = Math.max(0, tuples);
    return tuples;
  }
}
