import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { collectionExists, dimensionMismatch } from '../errors/retrieval-errors.js';
import { StoreUnavailableError } from '../errors/store-unavailable.error.js';
import { filterSql, MetadataFilter } from './metadata-filter.js';
import { ChunkHit, CollectionRecord, CollectionStats, DocumentRecord, DocumentWrite, VectorStore } from './vector-store.js';

/** Where the adapter gets its pool: the store connection (which may be opening or down), or a test's own pool. */
export interface PoolSource {
  pool(): Promise<pg.Pool>;
  /** Told after each committed write how many chunk rows it inserted or deleted (the embedded store keeps its statistics). */
  rowsChanged?(count: number): void;
}

/** Told how long each operation took and how it ended (metrics). */
export type StoreObserver = (operation: StoreOperation, seconds: number, outcome: 'ok' | 'error' | 'unavailable') => void;

export type StoreOperation =
  | 'create_collection'
  | 'list_collections'
  | 'get_collection'
  | 'find_collection'
  | 'delete_collection'
  | 'known_vectors'
  | 'upsert_documents'
  | 'get_document'
  | 'delete_document'
  | 'search_vector'
  | 'search_text';

export interface HnswSettings {
  m: number;
  efConstruction: number;
}

const MAX_INDEXED_DIMENSIONS = 2000;
/**
 * One INSERT carries at most this many characters of row text (vectors, texts, metadata) or this many
 * rows. node-postgres turns the parameters into one protocol message in one piece of the event loop
 * (~1 ms per 100 KB, more on the embedded path, whose connector re-encodes it): 500 rows of 384 dims
 * held the loop ~10-20 ms per INSERT (profiled during ingest); ~128 KB (~35 such rows, ~8 of 1,536
 * dims) keeps each piece near a millisecond, and the round trips between them give the loop its turns.
 */
const INSERT_BATCH_CHARS = 128 * 1024;
const INSERT_BATCH_ROWS = 500;

/** A timestamptz column as ISO 8601 in UTC, whatever the session's TimeZone and DateStyle. */
const isoUtc = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const COLLECTION_COLUMNS = `id::int AS id, name, model, dimensions, requested_dimensions, metadata, ${isoUtc('created_at')} AS created_at`;
const STATS = `(SELECT count(*)::int FROM retrieval_documents d WHERE d.collection_id = c.id) AS documents,
  (SELECT coalesce(sum(d.chunk_count), 0)::int FROM retrieval_documents d WHERE d.collection_id = c.id) AS chunks`;

/**
 * The one SQL adapter: PostgreSQL + pgvector through node-postgres, for a real server (DATABASE_URL)
 * and for the embedded PGlite alike. Every value is a parameter; the only numbers written into SQL
 * text are a collection's own id and dimensions (integers from its row, checked), which the partial
 * HNSW index's expression and predicate need as constants to be used.
 */
export class PgVectorStore extends VectorStore {
  constructor(
    private readonly source: PoolSource,
    private readonly hnsw: HnswSettings,
    private readonly observe: StoreObserver = () => undefined,
  ) {
    super();
  }

  async createCollection(input: { name: string; model: string | null; dimensions: number | null; metadata: Record<string, unknown> }): Promise<CollectionRecord> {
    return this.run('create_collection', async (pool) => {
      const result = await pool.query<CollectionRecord>(
        `INSERT INTO retrieval_collections (name, model, dimensions, requested_dimensions, metadata) VALUES ($1, $2, $3, $3, $4::jsonb)
         ON CONFLICT (name) DO NOTHING RETURNING ${COLLECTION_COLUMNS}`,
        [input.name, input.model, input.dimensions, JSON.stringify(input.metadata)],
      );
      if (result.rowCount === 0) throw collectionExists(input.name);
      const created = result.rows[0];
      if (created.dimensions !== null) await this.createIndex(pool, created.id, created.dimensions);
      return created;
    });
  }

  listCollections(): Promise<CollectionStats[]> {
    return this.run('list_collections', async (pool) => (await pool.query<CollectionStats>(`SELECT ${COLLECTION_COLUMNS}, ${STATS} FROM retrieval_collections c ORDER BY name`)).rows);
  }

  getCollection(name: string): Promise<CollectionStats | undefined> {
    return this.run('get_collection', async (pool) => (await pool.query<CollectionStats>(`SELECT ${COLLECTION_COLUMNS}, ${STATS} FROM retrieval_collections c WHERE name = $1`, [name])).rows[0]);
  }

  findCollection(name: string): Promise<CollectionRecord | undefined> {
    return this.run('find_collection', async (pool) => (await pool.query<CollectionRecord>(`SELECT ${COLLECTION_COLUMNS} FROM retrieval_collections WHERE name = $1`, [name])).rows[0]);
  }

  async deleteCollection(name: string): Promise<boolean> {
    const chunks = await this.transaction('delete_collection', async (client) => {
      // RETURNING sees the documents as they were: their rows go by cascade at the statement's end.
      const deleted = await client.query<{ id: number; chunks: number }>(
        `DELETE FROM retrieval_collections c WHERE name = $1
         RETURNING id::int AS id, (SELECT coalesce(sum(d.chunk_count), 0)::int FROM retrieval_documents d WHERE d.collection_id = c.id) AS chunks`,
        [name],
      );
      if (deleted.rowCount === 0) return undefined;
      await client.query(`DROP INDEX IF EXISTS ${indexName(deleted.rows[0].id)}`);
      return deleted.rows[0].chunks;
    });
    if (chunks === undefined) return false;
    this.source.rowsChanged?.(chunks);
    return true;
  }

  knownVectors(collectionId: number, hashes: string[]): Promise<Map<string, string>> {
    if (hashes.length === 0) return Promise.resolve(new Map());
    return this.run('known_vectors', async (pool) => {
      const result = await pool.query<{ hash: string; vector: string }>(
        `SELECT DISTINCT ON (content_hash) content_hash AS hash, embedding::text AS vector FROM retrieval_chunks
         WHERE collection_id = $1 AND content_hash = ANY($2::text[]) AND embedding IS NOT NULL`,
        [collectionId, hashes],
      );
      return new Map(result.rows.map((row) => [row.hash, row.vector]));
    });
  }

  async upsertDocuments(collection: CollectionRecord, documents: DocumentWrite[], dimensions: number | null): Promise<{ written: number }> {
    const { removed, written } = await this.transaction('upsert_documents', async (client) => {
      // Locks the collection row: concurrent writers to one collection take turns, so dimensions are fixed once.
      const locked = await client.query<{ dimensions: number | null }>('SELECT dimensions FROM retrieval_collections WHERE id = $1 FOR UPDATE', [collection.id]);
      if (locked.rowCount === 0) throw new StoreUnavailableError(`Collection '${collection.name}' was deleted during the write`, 'collection_deleted');
      const fixed = locked.rows[0].dimensions;
      if (dimensions !== null) {
        if (fixed === null) {
          await client.query('UPDATE retrieval_collections SET dimensions = $2 WHERE id = $1', [collection.id, dimensions]);
          await this.createIndex(client, collection.id, dimensions);
        } else if (fixed !== dimensions) {
          throw dimensionMismatch(collection.name, fixed, dimensions);
        }
      }
      const ids = documents.map((d) => d.id);
      // Each document's metadata as JSON text, made once: its row, the comparison below and every chunk row take it.
      const metadataTexts = documents.map((d) => JSON.stringify(d.metadata));
      // The documents' rows are locked as well: a delete of one of them (which does not lock the collection)
      // either waits for this write, or has finished first and its chunk rows are not among those kept below.
      await client.query('SELECT 1 FROM retrieval_documents WHERE collection_id = $1 AND id = ANY($2::text[]) FOR UPDATE', [collection.id, ids]);
      // A chunk row that is already what would be written (same document, position, text and metadata; the
      // vector follows from the text) stays as it is: a re-sent unchanged document costs no index insert
      // and leaves no dead row behind. The others of these documents go.
      const positions = documents.flatMap((d, n) => d.chunks.map((chunk, i) => ({ doc: d.id, chunk: i, hash: chunk.hash, metadata: metadataTexts[n] })));
      const removed = await client.query(
        `DELETE FROM retrieval_chunks c WHERE c.collection_id = $1 AND c.document_id = ANY($2::text[]) AND NOT EXISTS (
           SELECT 1 FROM unnest($3::text[], $4::int[], $5::text[], $6::text[]) AS u(doc, chunk, hash, metadata)
           WHERE u.doc = c.document_id AND u.chunk = c.chunk AND u.hash = c.content_hash AND u.metadata::jsonb = c.metadata)`,
        [collection.id, ids, positions.map((p) => p.doc), positions.map((p) => p.chunk), positions.map((p) => p.hash), positions.map((p) => p.metadata)],
      );
      const kept = await client.query<{ doc: string; chunk: number }>(
        'SELECT document_id AS doc, chunk FROM retrieval_chunks WHERE collection_id = $1 AND document_id = ANY($2::text[])',
        [collection.id, ids],
      );
      const unchanged = new Set(kept.rows.map((row) => `${row.chunk}:${row.doc}`));
      let written = 0;
      await client.query(
        `INSERT INTO retrieval_documents (collection_id, id, metadata, chunk_count)
         SELECT $1, u.id, u.metadata::jsonb, u.chunks FROM unnest($2::text[], $3::text[], $4::int[]) AS u(id, metadata, chunks)
         ON CONFLICT (collection_id, id) DO UPDATE SET metadata = excluded.metadata, chunk_count = excluded.chunk_count, updated_at = now()`,
        [collection.id, ids, metadataTexts, documents.map((d) => d.chunks.length)],
      );
      let rows: { doc: string; chunk: number; text: string; hash: string; metadata: string; vector: string | null }[] = [];
      let chars = 0;
      const flush = async (): Promise<void> => {
        if (rows.length === 0) return;
        await client.query(
          `INSERT INTO retrieval_chunks (collection_id, document_id, chunk, text, content_hash, metadata, embedding)
           SELECT $1, u.doc, u.chunk, u.text, u.hash, u.metadata::jsonb, u.vector::vector
           FROM unnest($2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[]) AS u(doc, chunk, text, hash, metadata, vector)`,
          [collection.id, rows.map((r) => r.doc), rows.map((r) => r.chunk), rows.map((r) => r.text), rows.map((r) => r.hash), rows.map((r) => r.metadata), rows.map((r) => r.vector)],
        );
        written += rows.length;
        rows = [];
        chars = 0;
      };
      for (const [n, document] of documents.entries()) {
        const metadata = metadataTexts[n];
        for (const [chunk, write] of document.chunks.entries()) {
          if (unchanged.has(`${chunk}:${document.id}`)) continue;
          rows.push({ doc: document.id, chunk, text: write.text, hash: write.hash, metadata, vector: write.vector });
          chars += write.text.length + metadata.length + (write.vector?.length ?? 0);
          if (chars >= INSERT_BATCH_CHARS || rows.length >= INSERT_BATCH_ROWS) await flush();
        }
      }
      await flush();
      return { removed: removed.rowCount ?? 0, written };
    });
    this.source.rowsChanged?.(removed + written);
    return { written };
  }

  getDocument(collectionId: number, id: string): Promise<DocumentRecord | undefined> {
    return this.run('get_document', async (pool) => {
      const doc = await pool.query<{ id: string; metadata: Record<string, unknown>; updated_at: string }>(
        `SELECT id, metadata, ${isoUtc('updated_at')} AS updated_at FROM retrieval_documents WHERE collection_id = $1 AND id = $2`,
        [collectionId, id],
      );
      if (doc.rowCount === 0) return undefined;
      const chunks = await pool.query<{ chunk: number; text: string }>(
        'SELECT chunk, text FROM retrieval_chunks WHERE collection_id = $1 AND document_id = $2 ORDER BY chunk',
        [collectionId, id],
      );
      return { ...doc.rows[0], chunks: chunks.rows };
    });
  }

  async deleteDocument(collectionId: number, id: string): Promise<boolean> {
    const deleted = await this.run('delete_document', async (pool) =>
      pool.query<{ chunks: number }>('DELETE FROM retrieval_documents WHERE collection_id = $1 AND id = $2 RETURNING chunk_count AS chunks', [collectionId, id]),
    );
    if (deleted.rowCount === 0) return false;
    this.source.rowsChanged?.(deleted.rows[0].chunks);
    return true;
  }

  searchVector(collection: CollectionRecord, vector: string, topK: number, filter: MetadataFilter): Promise<ChunkHit[]> {
    if (collection.dimensions === null) return Promise.resolve([]);
    const id = checkedInt(collection.id);
    const cast = `vector(${checkedInt(collection.dimensions)})`;
    const where = filterSql(filter, 3);
    return this.run('search_vector', async (pool) => {
      const result = await pool.query<ChunkHit>(
        `SELECT document_id AS id, chunk, text, metadata, 1 - (embedding::${cast} <=> $1::${cast}) AS score
         FROM retrieval_chunks WHERE collection_id = ${id} AND embedding IS NOT NULL AND ${where.sql}
         ORDER BY embedding::${cast} <=> $1::${cast} LIMIT $2`,
        [vector, topK, ...where.params],
      );
      return result.rows;
    });
  }

  searchText(collection: CollectionRecord, query: string, topK: number, filter: MetadataFilter): Promise<ChunkHit[]> {
    const where = filterSql(filter, 4);
    return this.run('search_text', async (pool) => {
      // plainto_tsquery stems and drops stop words, joining terms with AND; a question shares only some
      // words with its answer, so the terms are joined with OR instead (re-read as lexemes by 'simple').
      const result = await pool.query<ChunkHit>(
        `WITH q AS (SELECT to_tsquery('simple', replace(plainto_tsquery('english', $1)::text, ' & ', ' | ')) AS query)
         SELECT document_id AS id, chunk, text, metadata, ts_rank(tsv, q.query)::float8 AS score
         FROM retrieval_chunks, q WHERE collection_id = $2 AND tsv @@ q.query AND ${where.sql}
         ORDER BY score DESC, document_id, chunk LIMIT $3`,
        [query, collection.id, topK, ...where.params],
      );
      return result.rows;
    });
  }

  /** The partial HNSW index of one collection (cosine), on its rows only, at its dimensions. */
  private async createIndex(client: pg.Pool | pg.PoolClient, collectionId: number, dimensions: number): Promise<void> {
    // pgvector indexes `vector` up to 2,000 dimensions; beyond, searches are exact (a scan of the collection).
    if (dimensions > MAX_INDEXED_DIMENSIONS) return;
    const m = checkedInt(this.hnsw.m);
    const ef = checkedInt(this.hnsw.efConstruction);
    await client.query(
      `CREATE INDEX IF NOT EXISTS ${indexName(collectionId)} ON retrieval_chunks
       USING hnsw ((embedding::vector(${checkedInt(dimensions)})) vector_cosine_ops) WITH (m = ${m}, ef_construction = ${ef})
       WHERE collection_id = ${checkedInt(collectionId)}`,
    );
  }

  private async transaction<T>(operation: StoreOperation, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.run(operation, async (pool) => {
      const client = await pool.connect();
      let broken: Error | undefined;
      // A checked-out client has no 'error' listener of the pool's: a connection lost mid-transaction (a
      // server gone, the embedded store's worker dead) would be an unhandled 'error' event, fatal to the process.
      const lost = (error: Error): void => {
        broken = error;
      };
      client.on('error', lost);
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        });
        throw error;
      } finally {
        client.off('error', lost);
        // A client whose connection was lost or whose rollback failed is not given to anyone else.
        client.release(broken);
      }
    });
  }

  /** Runs against the pool, turning "cannot reach the store" into a 503 that names why; the time and outcome go to the observer. */
  private async run<T>(operation: StoreOperation, work: (pool: pg.Pool) => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await work(await this.source.pool());
      this.observe(operation, (performance.now() - started) / 1000, 'ok');
      return result;
    } catch (error) {
      const mapped = unavailable(error);
      this.observe(operation, (performance.now() - started) / 1000, mapped ? 'unavailable' : 'error');
      throw mapped ?? error;
    }
  }
}

export function indexName(collectionId: number): string {
  return `retrieval_chunks_hnsw_${checkedInt(collectionId)}`;
}

function checkedInt(value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`not a non-negative integer: ${String(value)}`);
  return value;
}

/**
 * Errors that mean the store, not the request, is at fault: connection failures (SQLSTATE class 08),
 * shutdown (57P0x), a statement over its timeout (57014), and errors of the socket or worker itself.
 */
export function unavailable(error: unknown): StoreUnavailableError | undefined {
  if (error instanceof StoreUnavailableError) return error;
  if (error instanceof pg.DatabaseError) {
    const code = error.code ?? '';
    if (code === '57014') return new StoreUnavailableError('The vector store did not answer within RETRIEVAL_STATEMENT_TIMEOUT_MS', 'store_timeout');
    if (code.startsWith('08') || code.startsWith('57P') || code === '53300') return new StoreUnavailableError(`The vector store is unavailable: ${error.message}`);
    return undefined;
  }
  // Socket and worker errors (ECONNREFUSED, "Connection terminated", a worker gone); checked by shape, since
  // errors from Node's own modules may come from another realm (jest's VM) and fail instanceof.
  const shaped = error as { message?: unknown; name?: unknown; status?: unknown } | null;
  if (typeof shaped?.message === 'string' && shaped.status === undefined && shaped.name !== 'TypeError' && shaped.name !== 'RangeError') {
    return new StoreUnavailableError(`The vector store is unavailable: ${shaped.message}`);
  }
  return undefined;
}
