import { jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type pg from 'pg';
import { AppConfig } from '../../src/config/app-config.js';
import { validateEnvironment } from '../../src/config/environment.loader.js';
import { EmbeddedPostgres } from '../../src/retrieval/store/embedded/embedded-postgres.js';
import { LOCK_FILE } from '../../src/retrieval/store/embedded/data-dir.lock.js';
import { MIGRATIONS, runMigrations } from '../../src/retrieval/store/migrations.js';
import { parseFilter } from '../../src/retrieval/store/metadata-filter.js';
import { indexName, PgVectorStore } from '../../src/retrieval/store/pg-vector.store.js';
import { StoreConnection } from '../../src/retrieval/store/store-connection.js';
import type { CollectionRecord, DocumentWrite } from '../../src/retrieval/store/vector-store.js';
import { startPostgresServer, type PostgresServer } from '../support/postgres-server.js';
import { threadNiceness } from '../support/thread-niceness.js';
import { until } from '../support/until.js';

jest.setTimeout(120_000);

const vec = (...values: number[]): string => `[${values.join(',')}]`;
const doc = (id: string, chunks: Array<[string, string | null]>, metadata: Record<string, unknown> = {}): DocumentWrite => ({
  id,
  metadata,
  chunks: chunks.map(([text, vector], i) => ({ text, hash: `${id}-${i}-${text}`, vector })),
});

// The same tests, the same SQL, against both ways the store is reached.
describe.each(['embedded', 'postgres'] as const)('VectorStore contract: %s', (backend) => {
  let dir: string;
  let server: PostgresServer | undefined;
  let connection: StoreConnection;
  let store: PgVectorStore;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ballast-store-'));
    let env: Record<string, string> = { DATA_DIR: dir };
    if (backend === 'postgres') {
      server = await startPostgresServer();
      env = { DATABASE_URL: server.url, DATABASE_POOL_MAX: '2' };
    }
    const config = new AppConfig(validateEnvironment(env));
    connection = new StoreConnection(config);
    connection.onModuleInit();
    store = new PgVectorStore(connection, config.retrieval.hnsw);
    await connection.pool();
    expect(connection.state).toEqual({ state: 'up', backend });
  });

  afterAll(async () => {
    await connection?.onApplicationShutdown();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs migrations idempotently: a second run applies nothing', async () => {
    await expect(runMigrations(await connection.pool())).resolves.toEqual([]);
  });

  it('keeps the text index without a pending list, so text search never reads through one', async () => {
    const pool = await connection.pool();
    const index = await pool.query<{ options: string[] }>(`SELECT reloptions AS options FROM pg_class WHERE relname = 'retrieval_chunks_tsv'`);
    expect(index.rows[0].options).toContain('fastupdate=off');
  });

  it('creates, lists, reads and refuses a duplicate collection', async () => {
    const created = await store.createCollection({ name: 'c-basic', model: 'm', dimensions: null, metadata: { team: 'a' } });
    expect(created).toMatchObject({ name: 'c-basic', model: 'm', dimensions: null, metadata: { team: 'a' } });
    await expect(store.createCollection({ name: 'c-basic', model: null, dimensions: null, metadata: {} })).rejects.toMatchObject({ status: 409, code: 'collection_exists' });
    expect((await store.listCollections()).map((c) => c.name)).toContain('c-basic');
    await expect(store.getCollection('c-basic')).resolves.toMatchObject({ documents: 0, chunks: 0 });
    await expect(store.getCollection('nope')).resolves.toBeUndefined();
    const found = await store.findCollection('c-basic');
    expect(found).toEqual({ ...created });
    await expect(store.findCollection('nope')).resolves.toBeUndefined();
  });

  it('gives created_at and updated_at in ISO 8601 UTC whatever time zone the session is in', async () => {
    const created = await store.createCollection({ name: 'c-time', model: null, dimensions: null, metadata: {} });
    await store.upsertDocuments(created, [doc('d', [['dated', null]])], null);
    const written = (await store.getDocument(created.id, 'd'))!;
    expect(written.updated_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(created.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Math.abs(Date.parse(created.created_at) - Date.now())).toBeLessThan(60_000);
    const pool = await connection.pool();
    /** Every connection the pool holds, given `statement`. */
    const onEverySession = async (statement: string): Promise<void> => {
      const clients = await Promise.all(Array.from({ length: pool.options.max }, () => pool.connect()));
      for (const client of clients) await client.query(statement);
      for (const client of clients) client.release();
    };
    await onEverySession(`SET TIME ZONE 'Asia/Kolkata'`);
    try {
      await expect(store.findCollection('c-time')).resolves.toMatchObject({ created_at: created.created_at });
      await expect(store.getDocument(created.id, 'd')).resolves.toMatchObject({ updated_at: written.updated_at });
    } finally {
      await onEverySession('RESET TIME ZONE');
    }
  });

  it('keeps its session usable after statements that fail in parsing, binding a value, and executing', async () => {
    const pool = await connection.pool();
    const trips = connection.embeddedStore?.trips ?? 0;
    await expect(pool.query('SELECT $1::int + 1 AS n', [41])).resolves.toMatchObject({ rows: [{ n: 42 }] });
    // Embedded: Parse, Bind, Describe, Execute and Sync reach the worker in one exchange.
    if (backend === 'embedded') expect(connection.embeddedStore!.trips - trips).toBe(1);
    await expect(pool.query('SELEC nothing', [])).rejects.toMatchObject({ code: '42601' });
    const unsendable = { toPostgres: () => { throw new Error('cannot send this value'); } };
    await expect(pool.query('SELECT $1::text AS t', [unsendable])).rejects.toThrow('cannot send this value');
    await expect(pool.query('SELECT 1 / $1::int AS n', [0])).rejects.toMatchObject({ code: '22012' });
    await expect(pool.query('SELECT $1::text AS t', ['still here'])).resolves.toMatchObject({ rows: [{ t: 'still here' }] });
  });

  it('carries statements larger than 4 KB whole (embedded: moved to the worker, not copied), and the session goes on', async () => {
    const pool = await connection.pool();
    const big = `[${Array.from({ length: 1536 }, (_, i) => ((i % 7) / 7).toFixed(6)).join(',')}]`;
    for (let i = 0; i < 3; i++) {
      const result = await pool.query<{ n: number; dims: number }>('SELECT length($1::text)::int AS n, vector_dims($1::vector) AS dims', [big]);
      expect(result.rows).toEqual([{ n: big.length, dims: 1536 }]);
    }
    await expect(pool.query('SELECT $1::text AS t', ['small after big'])).resolves.toMatchObject({ rows: [{ t: 'small after big' }] });
  });

  describe('with vectors', () => {
    let collection: CollectionRecord;
    beforeAll(async () => {
      collection = await store.createCollection({ name: 'c-vec', model: 'm', dimensions: null, metadata: {} });
      await store.upsertDocuments(
        collection,
        [
          doc('a', [['alpha one', vec(1, 0, 0, 0)], ['alpha two', vec(0.9, 0.1, 0, 0)]], { lang: 'en', tier: 1 }),
          doc('b', [['beta', vec(0, 1, 0, 0)]], { lang: 'de', tier: 2 }),
          doc('c', [['gamma', vec(0, 0, 1, 0)]], { lang: 'fr', tier: 3 }),
        ],
        4,
      );
      collection = (await store.getCollection('c-vec'))!;
    });

    it('fixes the dimensions with the first vectors and makes the collection an HNSW index', async () => {
      expect(collection).toMatchObject({ dimensions: 4, documents: 3, chunks: 4 });
      const pool = await connection.pool();
      const index = await pool.query<{ indexdef: string }>('SELECT indexdef FROM pg_indexes WHERE indexname = $1', [indexName(collection.id)]);
      expect(index.rows[0].indexdef).toMatch(/USING hnsw .*vector\(4\).*vector_cosine_ops.*WHERE \(collection_id = /);
    });

    it('finds the nearest chunks by cosine, best first, score = 1 - distance', async () => {
      const hits = await store.searchVector(collection, vec(1, 0, 0, 0), 3, []);
      expect(hits.map((h) => [h.id, h.chunk])).toEqual([['a', 0], ['a', 1], expect.anything()]);
      expect(hits[0]).toMatchObject({ text: 'alpha one', metadata: { lang: 'en', tier: 1 } });
      expect(hits[0].score).toBeCloseTo(1, 5);
      expect(hits[1].score).toBeLessThan(hits[0].score);
    });

    it('filters on metadata: equals, $in, and a key no document has (nothing matches)', async () => {
      const eq = await store.searchVector(collection, vec(1, 0, 0, 0), 10, parseFilter({ lang: 'de' }));
      expect(eq.map((h) => h.id)).toEqual(['b']);
      const within = await store.searchVector(collection, vec(1, 0, 0, 0), 10, parseFilter({ tier: { $in: [2, 3] } }));
      expect(within.map((h) => h.id).sort()).toEqual(['b', 'c']);
      await expect(store.searchVector(collection, vec(1, 0, 0, 0), 10, parseFilter({ missing: 'x' }))).resolves.toEqual([]);
      await expect(store.searchText(collection, 'beta', 10, parseFilter({ tier: '2' }))).resolves.toEqual([]);
    });

    it('refuses vectors of other dimensions with 409 and writes nothing', async () => {
      const write = store.upsertDocuments(collection, [doc('d', [['delta', vec(1, 2, 3)]])], 3);
      await expect(write).rejects.toMatchObject({ status: 409, code: 'dimension_mismatch' });
      await expect(store.getDocument(collection.id, 'd')).resolves.toBeUndefined();
    });

    it('returns stored vectors by chunk hash so unchanged chunks are not embedded again', async () => {
      const known = await store.knownVectors(collection.id, ['a-0-alpha one', 'nope']);
      expect([...known.keys()]).toEqual(['a-0-alpha one']);
      expect(known.get('a-0-alpha one')).toBe('[1,0,0,0]');
    });

    it('rewrites only the chunk rows that changed: a re-sent document leaves its rows as they were', async () => {
      const pool = await connection.pool();
      // xmin: the transaction that wrote a row version; a row rewritten gets a new one.
      const versions = async (): Promise<Record<number, string>> =>
        Object.fromEntries(
          (await pool.query<{ chunk: number; xmin: string }>(`SELECT chunk, xmin::text FROM retrieval_chunks WHERE collection_id = $1 AND document_id = 'r'`, [collection.id])).rows.map((r) => [r.chunk, r.xmin]),
        );
      const three = (second: string, metadata: Record<string, unknown> = { v: 1 }): DocumentWrite =>
        doc('r', [['one', vec(1, 0, 0, 0)], [second, vec(0, 1, 0, 0)], ['three', vec(0, 0, 1, 0)]], metadata);
      await expect(store.upsertDocuments(collection, [three('two')], 4)).resolves.toEqual({ written: 3 });
      const first = await versions();
      expect(Object.keys(first)).toEqual(['0', '1', '2']);

      await expect(store.upsertDocuments(collection, [three('two')], 4)).resolves.toEqual({ written: 0 });
      expect(await versions()).toEqual(first);

      await expect(store.upsertDocuments(collection, [three('two changed')], 4)).resolves.toEqual({ written: 1 });
      const second = await versions();
      expect([second[0], second[2]]).toEqual([first[0], first[2]]);
      expect(second[1]).not.toBe(first[1]);
      await expect(store.getDocument(collection.id, 'r')).resolves.toMatchObject({ chunks: [{ text: 'one' }, { text: 'two changed' }, { text: 'three' }] });

      // Other metadata is in every row; fewer chunks leave none behind; the search sees what was written.
      await expect(store.upsertDocuments(collection, [three('two changed', { v: 2 })], 4)).resolves.toEqual({ written: 3 });
      const third = await versions();
      expect([0, 1, 2].filter((c) => third[c] === second[c])).toEqual([]);
      await expect(store.upsertDocuments(collection, [doc('r', [['one', vec(1, 0, 0, 0)]], { v: 2 })], 4)).resolves.toEqual({ written: 0 });
      expect(Object.keys(await versions())).toEqual(['0']);
      const hits = await store.searchVector(collection, vec(0, 0, 1, 0), 10, parseFilter({ v: 2 }));
      expect(hits.map((h) => [h.id, h.chunk, h.metadata])).toEqual([['r', 0, { v: 2 }]]);
      await expect(store.deleteDocument(collection.id, 'r')).resolves.toBe(true);
    });

    it('replaces a document whole, and a failing batch leaves every document untouched', async () => {
      await store.upsertDocuments(collection, [doc('a', [['alpha only', vec(1, 0, 0, 0)]], { lang: 'en' })], 4);
      await expect(store.getDocument(collection.id, 'a')).resolves.toMatchObject({ chunks: [{ chunk: 0, text: 'alpha only' }], metadata: { lang: 'en' } });
      const broken = store.upsertDocuments(collection, [doc('a', [['alpha new', vec(1, 0, 0, 0)]]), doc('b', [['beta new', '[1,2']])], 4);
      await expect(broken).rejects.toThrow();
      await expect(store.getDocument(collection.id, 'a')).resolves.toMatchObject({ chunks: [{ text: 'alpha only' }] });
      await expect(store.getDocument(collection.id, 'b')).resolves.toMatchObject({ chunks: [{ text: 'beta' }] });
      // The store still answers after the failed transaction.
      await expect(store.searchVector(collection, vec(0, 1, 0, 0), 1, [])).resolves.toMatchObject([{ id: 'b' }]);
    });

    it('writes a document larger than one INSERT whole, and leaves it whole when a later INSERT of the call fails', async () => {
      // 60 chunks of 5,000 characters: ~300,000 characters, several INSERT statements in one transaction.
      const chunks = (tag: string): Array<[string, string]> => Array.from({ length: 60 }, (_, i) => [`${tag} ${i} ${'x'.repeat(5_000)}`, vec(1, 0, 0, i / 60)]);
      await store.upsertDocuments(collection, [doc('big', chunks('old'))], 4);
      const stored = await store.getDocument(collection.id, 'big');
      expect(stored?.chunks).toHaveLength(60);
      expect(stored?.chunks[59].text.startsWith('old 59 ')).toBe(true);
      const last = chunks('new');
      last[59] = [last[59][0], '[1,2'];
      await expect(store.upsertDocuments(collection, [doc('big', last)], 4)).rejects.toThrow();
      const after = await store.getDocument(collection.id, 'big');
      expect(after?.chunks).toHaveLength(60);
      expect(after?.chunks.every((c) => c.text.startsWith('old '))).toBe(true);
      await expect(store.deleteDocument(collection.id, 'big')).resolves.toBe(true);
    });

    it('deletes a document, then the collection with its index', async () => {
      await expect(store.deleteDocument(collection.id, 'c')).resolves.toBe(true);
      await expect(store.deleteDocument(collection.id, 'c')).resolves.toBe(false);
      await expect(store.deleteCollection('c-vec')).resolves.toBe(true);
      await expect(store.deleteCollection('c-vec')).resolves.toBe(false);
      const pool = await connection.pool();
      await expect(pool.query('SELECT 1 FROM pg_indexes WHERE indexname = $1', [indexName(collection.id)])).resolves.toMatchObject({ rowCount: 0 });
      await expect(pool.query('SELECT 1 FROM retrieval_chunks WHERE collection_id = $1', [collection.id])).resolves.toMatchObject({ rowCount: 0 });
    });
  });

  describe('text only', () => {
    let collection: CollectionRecord;
    beforeAll(async () => {
      collection = await store.createCollection({ name: 'c-text', model: null, dimensions: null, metadata: {} });
      await store.upsertDocuments(
        collection,
        [
          doc('refunds', [['Refunds: we send your money back within 30 days of a return.', null]], { section: 'billing' }),
          doc('shipping', [['Shipping takes three to five working days.', null]], { section: 'delivery' }),
          doc('evil', [["Robert'); DROP TABLE retrieval_chunks;-- says hello", null]], { "x'); DROP TABLE retrieval_documents;--": "' OR 1=1 --" }),
        ],
        null,
      );
    });

    it('matches any stemmed query term, ranked: a question finds the page sharing only some of its words', async () => {
      const hits = await store.searchText(collection, 'how do I get my money back?', 5, []);
      expect(hits[0]).toMatchObject({ id: 'refunds', chunk: 0 });
      expect(hits[0].score).toBeGreaterThan(0);
      expect(hits.map((h) => h.id)).not.toContain('shipping');
      await expect(store.searchText(collection, 'ship', 5, [])).resolves.toMatchObject([{ id: 'shipping' }]);
    });

    it('finds nothing for a query of stop words only, and no vector hits without dimensions', async () => {
      await expect(store.searchText(collection, 'the of and', 5, [])).resolves.toEqual([]);
      await expect(store.searchVector(collection, vec(1, 0), 5, [])).resolves.toEqual([]);
    });

    it('stores SQL-looking text and metadata as plain data, and finds it by it', async () => {
      const hits = await store.searchText(collection, 'DROP TABLE', 5, parseFilter({ "x'); DROP TABLE retrieval_documents;--": "' OR 1=1 --" }));
      expect(hits).toMatchObject([{ id: 'evil', text: "Robert'); DROP TABLE retrieval_chunks;-- says hello" }]);
      await expect(store.getCollection('c-text')).resolves.toMatchObject({ documents: 3, chunks: 3 });
    });
  });
});

describe('VectorStore: a PostgreSQL server that goes away and comes back', () => {
  let dir: string;
  let server: PostgresServer;
  let connection: StoreConnection;
  let store: PgVectorStore;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ballast-pg-'));
    server = await startPostgresServer(dir);
    const config = new AppConfig(validateEnvironment({ DATABASE_URL: server.url, DATABASE_POOL_MAX: '2' }));
    connection = new StoreConnection(config);
    connection.onModuleInit();
    store = new PgVectorStore(connection, config.retrieval.hnsw);
    await connection.pool();
  });
  afterAll(async () => {
    await connection?.onApplicationShutdown();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 store_unavailable while it is down, and serves again once it is back', async () => {
    await store.createCollection({ name: 'survivor', model: null, dimensions: null, metadata: {} });
    await server.stop();
    await expect(store.getCollection('survivor')).rejects.toMatchObject({ status: 503, type: 'store_unavailable_error' });
    server = await startPostgresServer(dir, server.port);
    await expect(store.getCollection('survivor')).resolves.toMatchObject({ name: 'survivor' });
  });
});

describe('VectorStore: a PostgreSQL server that is down at start-up', () => {
  it('starts anyway, answers 503 naming the cause, and connects once the server is there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ballast-pg-'));
    const probe = await startPostgresServer(dir);
    const port = probe.port;
    await probe.stop();
    const config = new AppConfig(validateEnvironment({ DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${port}/postgres` }));
    const connection = new StoreConnection(config);
    connection.onModuleInit();
    const store = new PgVectorStore(connection, config.retrieval.hnsw);
    let server: PostgresServer | undefined;
    try {
      await expect(store.listCollections()).rejects.toMatchObject({ status: 503, message: expect.stringMatching(/ECONNREFUSED|connect/) });
      expect(connection.state).toMatchObject({ state: 'down', backend: 'postgres' });
      server = await startPostgresServer(dir, port);
      await new Promise((r) => setTimeout(r, 2_100));
      await expect(store.listCollections()).resolves.toEqual([]);
      expect(connection.state).toEqual({ state: 'up', backend: 'postgres' });
    } finally {
      await connection.onApplicationShutdown();
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('VectorStore: the embedded data directory is locked to one owner', () => {
  it('refuses a second opener of the same DATA_DIR with a message saying why, and frees it at shutdown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ballast-lock-'));
    const config = new AppConfig(validateEnvironment({ DATA_DIR: dir }));
    const first = new StoreConnection(config);
    first.onModuleInit();
    try {
      await first.pool();
      expect(() => new StoreConnection(config).onModuleInit()).toThrow(/DATA_DIR .* is in use by another ballast process \(pid \d+\)/);
    } finally {
      await first.onApplicationShutdown();
    }
    const second = new StoreConnection(config);
    second.onModuleInit();
    await expect(second.pool()).resolves.toBeDefined();
    await second.onApplicationShutdown();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("VectorStore: the embedded store's worker yields the CPU to the event loop", () => {
  it('runs its thread at RETRIEVAL_STORE_NICE, the event loop at its own priority', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ballast-nice-'));
    const before = threadNiceness();
    const mine = getPriority();
    const connection = new StoreConnection(new AppConfig(validateEnvironment({ DATA_DIR: dir, RETRIEVAL_STORE_NICE: '13' })));
    connection.onModuleInit();
    try {
      await connection.pool();
      // 13 is used by nothing else here: one new thread has it, and this (the main) thread kept its own.
      expect(before).not.toContain(13);
      expect(threadNiceness().filter((n) => n === 13)).toHaveLength(1);
      expect(getPriority()).toBe(mine);
    } finally {
      await connection.onApplicationShutdown();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('VectorStore: a database of the first schema version is upgraded at start', () => {
  it('migration 2 turns the text index to fastupdate off and merges its pending list; its entries are all found', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ballast-upgrade-'));
    const config = new AppConfig(validateEnvironment({ DATA_DIR: dir }));
    const embedded = new EmbeddedPostgres(dir);
    await embedded.start();
    const pool = embedded.createPool({});
    try {
      await expect(runMigrations(pool, MIGRATIONS.slice(0, 1))).resolves.toEqual([1]);
      const store = new PgVectorStore({ pool: async () => pool }, config.retrieval.hnsw);
      const collection = await store.createCollection({ name: 'old', model: null, dimensions: null, metadata: {} });
      await store.upsertDocuments(collection, Array.from({ length: 200 }, (_, i) => doc(`d${i}`, [[`page ${i} about refunds and returns`, null]])), null);
      const options = async (): Promise<string[] | null> =>
        (await pool.query<{ options: string[] | null }>(`SELECT reloptions AS options FROM pg_class WHERE relname = 'retrieval_chunks_tsv'`)).rows[0].options;
      expect(await options()).toBeNull();

      await expect(runMigrations(pool)).resolves.toEqual([2]);
      expect(await options()).toContain('fastupdate=off');
      // The pending list was merged by the migration: nothing is left to clean.
      await expect(pool.query(`SELECT gin_clean_pending_list('retrieval_chunks_tsv'::regclass)::int AS pages`)).resolves.toMatchObject({ rows: [{ pages: 0 }] });
      const hits = await store.searchText(collection, 'refunds', 300, []);
      expect(hits).toHaveLength(200);
    } finally {
      await pool.end();
      await embedded.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("VectorStore: the embedded store's planner statistics (PGlite has no autovacuum)", () => {
  const textDocs = (from: number, count: number): DocumentWrite[] => Array.from({ length: count }, (_, i) => doc(`d${from + i}`, [[`page ${from + i} about refunds`, null]]));
  const chunkTuples = async (pool: pg.Pool): Promise<number> =>
    (await pool.query<{ tuples: number }>(`SELECT reltuples::float8 AS tuples FROM pg_class WHERE relname = 'retrieval_chunks'`)).rows[0].tuples;

  it('analyzes once enough chunk rows changed, not before; a failed ANALYZE only warns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ballast-stats-'));
    const config = new AppConfig(validateEnvironment({ DATA_DIR: dir }));
    const connection = new StoreConnection(config);
    connection.onModuleInit();
    const store = new PgVectorStore(connection, config.retrieval.hnsw);
    try {
      const pool = await connection.pool();
      const collection = await store.createCollection({ name: 'stats', model: null, dimensions: null, metadata: {} });
      await store.upsertDocuments(collection, textDocs(0, 300), null);
      await connection.embeddedStatistics!.settled;
      // Never analyzed: PostgreSQL's "no statistics" (-1).
      expect(await chunkTuples(pool)).toBe(-1);
      // 150 sent again unchanged (their rows stay: no change) and 300 more: 600 changes, over the 500 needed.
      await store.upsertDocuments(collection, [...textDocs(0, 150), ...textDocs(300, 300)], null);
      await connection.embeddedStatistics!.settled;
      expect(await chunkTuples(pool)).toBe(600);
      // The next ANALYZE waits for 500 + a fifth of 600 = 620 changes: 619 are not enough, 620 are.
      await store.upsertDocuments(collection, textDocs(600, 580), null);
      for (let i = 0; i < 39; i++) await store.deleteDocument(collection.id, `d${i}`);
      await connection.embeddedStatistics!.settled;
      expect(await chunkTuples(pool)).toBe(600);
      await store.deleteDocument(collection.id, 'd39');
      await connection.embeddedStatistics!.settled;
      expect(await chunkTuples(pool)).toBe(1140);

      // The store gone while an ANALYZE is due: it fails with a warning, nothing is thrown, and the store comes back.
      await connection.embeddedStore!.terminate();
      connection.rowsChanged(10_000);
      await expect(connection.embeddedStatistics!.settled).resolves.toBeUndefined();
      await until('the worker restarted', () => connection.state.state === 'up', 20_000);
      await expect(store.getCollection('stats')).resolves.toMatchObject({ documents: 1140, chunks: 1140 });
    } finally {
      await connection.onApplicationShutdown();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('analyzes at start a store that holds rows never analyzed (written by an earlier version)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ballast-stats-'));
    const config = new AppConfig(validateEnvironment({ DATA_DIR: dir }));
    const embedded = new EmbeddedPostgres(dir);
    await embedded.start();
    const direct = embedded.createPool({});
    // A source that reports no writes: as before this version, nothing analyzes.
    const unaware = new PgVectorStore({ pool: async () => direct }, config.retrieval.hnsw);
    await runMigrations(direct);
    const collection = await unaware.createCollection({ name: 'old', model: null, dimensions: null, metadata: {} });
    await unaware.upsertDocuments(collection, textDocs(0, 40), null);
    expect(await chunkTuples(direct)).toBe(-1);
    await direct.end();
    await embedded.close();

    const connection = new StoreConnection(config);
    connection.onModuleInit();
    try {
      const pool = await connection.pool();
      await connection.embeddedStatistics!.settled;
      expect(await chunkTuples(pool)).toBe(40);
    } finally {
      await connection.onApplicationShutdown();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is not kept for a DATABASE_URL server (its autovacuum analyzes)', () => {
    const connection = new StoreConnection(new AppConfig(validateEnvironment({ DATABASE_URL: 'postgres://u:p@127.0.0.1:1/db' })));
    expect(connection.embeddedStatistics).toBeUndefined();
    expect(() => connection.rowsChanged(10_000)).not.toThrow();
  });
});

describe('VectorStore: the embedded store survives its worker dying', () => {
  it('answers 503 naming the exit while the lock stays held, restarts the worker with backoff, and finds the data again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ballast-crash-'));
    const config = new AppConfig(validateEnvironment({ DATA_DIR: dir }));
    const connection = new StoreConnection(config);
    connection.onModuleInit();
    const store = new PgVectorStore(connection, config.retrieval.hnsw);
    try {
      await connection.pool();
      let collection = await store.createCollection({ name: 'survivor', model: 'm', dimensions: null, metadata: {} });
      await store.upsertDocuments(collection, [doc('a', [['alpha', vec(1, 0, 0, 0)]], { lang: 'en' })], 4);
      collection = (await store.findCollection('survivor'))!;
      // An upsert cut off by the worker's death (3,000 rows take seconds to index): 503, and its transaction never lands.
      const many = Array.from({ length: 3_000 }, (_, i): [string, string] => [`alpha replaced ${i}`, vec(1, 0, 0, i / 3_000)]);
      const cutOff = store.upsertDocuments(collection, [doc('a', many)], 4);
      await new Promise((r) => setTimeout(r, 100));
      await connection.embeddedStore!.terminate();
      await expect(cutOff).rejects.toMatchObject({ status: 503, code: 'store_unavailable', message: expect.stringMatching(/worker exited \(code 1\)/) });

      expect(connection.state).toMatchObject({ state: 'down', backend: 'embedded', reason: expect.stringMatching(/worker exited \(code 1\); restarting it in \d+ ms \(attempt 1\)/) });
      await expect(store.listCollections()).rejects.toMatchObject({ status: 503, code: 'store_unavailable', message: expect.stringMatching(/worker exited/) });
      // The directory stays this process's: a second opener is refused while the worker is down.
      expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
      expect(() => new StoreConnection(config).onModuleInit()).toThrow(/is in use by another ballast process/);

      await until('the worker restarted', () => connection.state.state === 'up', 20_000);
      await expect(store.getDocument(collection.id, 'a')).resolves.toMatchObject({ metadata: { lang: 'en' }, chunks: [{ text: 'alpha' }] });
      await expect(store.searchVector(collection, vec(1, 0, 0, 0), 1, [])).resolves.toMatchObject([{ id: 'a' }]);
      // The new session has the store's settings again.
      const settings = await (await connection.pool()).query<{ ef: string }>('SELECT current_setting($1) AS ef', ['hnsw.ef_search']);
      expect(settings.rows[0].ef).toBe(String(config.retrieval.hnsw.efSearch));

      // Dying again soon after: the next restart waits twice as long.
      await connection.embeddedStore!.terminate();
      expect(connection.state.reason).toMatch(/restarting it in \d+ ms \(attempt 2\)/);
      await until('the worker restarted a second time', () => connection.state.state === 'up', 20_000);
      await expect(store.listCollections()).resolves.toMatchObject([{ name: 'survivor', documents: 1 }]);
    } finally {
      await connection.onApplicationShutdown();
    }
    // Released at shutdown, like any clean stop.
    expect(() => readFileSync(join(dir, LOCK_FILE))).toThrow();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['process.exit in the worker', 'ballast_test_exit', /worker exited \(code 3\)/],
    ['an uncaught error in the worker', 'ballast_test_throw', /worker failed: boom in the worker/],
  ])('%s: the call fails naming it, the owner is told, and start() opens the same directory again', async (_kind, marker, reason) => {
    const dir = mkdtempSync(join(tmpdir(), 'ballast-crash-'));
    const exits: string[] = [];
    const embedded = new EmbeddedPostgres(dir, { onExit: (why) => exits.push(why), workerFile: resolve('test', 'support', 'crashing-embedded-worker.mjs') });
    try {
      await embedded.start();
      let pool = embedded.createPool({});
      await pool.query('CREATE TABLE kept (v text)');
      await pool.query("INSERT INTO kept VALUES ('before the crash')");
      await expect(pool.query(`SELECT '${marker}'`)).rejects.toThrow(reason);
      await until('onExit called', () => exits.length === 1, 5_000);
      expect(exits[0]).toMatch(reason);
      expect(embedded.failure).toMatch(reason);
      await pool.end().catch(() => undefined);
      await embedded.start();
      expect(embedded.failure).toBeUndefined();
      pool = embedded.createPool({});
      await expect(pool.query('SELECT v FROM kept')).resolves.toMatchObject({ rows: [{ v: 'before the crash' }] });
      await pool.end();
    } finally {
      await embedded.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
