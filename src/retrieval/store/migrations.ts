import type pg from 'pg';

/**
 * The schema, as versioned steps applied in order, each once, in its own transaction. Collections
 * are rows (one table set per deployment); each collection's HNSW index is made when its
 * dimensions are fixed (pg-vector.store.ts), as a partial index on that collection's rows.
 * Append new versions; never edit one that has shipped.
 */
export const MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'collections, documents and chunks',
    sql: `
      CREATE EXTENSION IF NOT EXISTS vector;
      CREATE TABLE retrieval_collections (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name text NOT NULL UNIQUE,
        model text,
        dimensions integer,
        requested_dimensions integer,
        metadata jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE retrieval_documents (
        collection_id bigint NOT NULL REFERENCES retrieval_collections (id) ON DELETE CASCADE,
        id text NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{}',
        chunk_count integer NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (collection_id, id)
      );
      CREATE TABLE retrieval_chunks (
        collection_id bigint NOT NULL,
        document_id text NOT NULL,
        chunk integer NOT NULL,
        text text NOT NULL,
        content_hash text NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{}',
        embedding vector,
        tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
        PRIMARY KEY (collection_id, document_id, chunk),
        FOREIGN KEY (collection_id, document_id) REFERENCES retrieval_documents (collection_id, id) ON DELETE CASCADE
      );
      CREATE INDEX retrieval_chunks_tsv ON retrieval_chunks USING gin (tsv);
      CREATE INDEX retrieval_chunks_hash ON retrieval_chunks (collection_id, content_hash);
    `,
  },
  {
    // GIN's fast update queues new entries in a pending list that every search reads through until
    // VACUUM merges it; the embedded store has no autovacuum, so the list only grew: a text search
    // spent 9.6 ms on 10,000 chunks, 3.2 ms without it (docs/retrieval.md). Search time over insert time.
    version: 2,
    name: 'text index without a pending list',
    sql: `
      ALTER INDEX retrieval_chunks_tsv SET (fastupdate = off);
      SELECT gin_clean_pending_list('retrieval_chunks_tsv'::regclass);
    `,
  },
];

/** Any number, the same for every ballast: instances starting together migrate one at a time. */
const MIGRATION_LOCK = 7_310_023;

/**
 * Applies the versions not yet applied; safe to run at every start and from several instances at once.
 * `migrations`: all of them (tests give the first ones only, to make a database of an earlier version).
 */
export async function runMigrations(pool: pg.Pool, migrations: typeof MIGRATIONS = MIGRATIONS): Promise<number[]> {
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS retrieval_schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    for (const migration of migrations) {
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
        const done = await client.query('SELECT 1 FROM retrieval_schema_migrations WHERE version = $1', [migration.version]);
        if (done.rowCount === 0) {
          await client.query(migration.sql);
          await client.query('INSERT INTO retrieval_schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
          applied.push(migration.version);
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    }
  } finally {
    client.release();
  }
  return applied;
}
