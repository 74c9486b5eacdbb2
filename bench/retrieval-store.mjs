// The store straight from a benchmark process, as ballast reaches it (its compiled adapter, session
// settings and embedded connection from dist/), with no HTTP, Nest or worker hop: the retrieval
// scenario's store SQL, and the store of the bare server (retrieval-bare.mjs).
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';

const DIST = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'retrieval', 'store');
const dist = (file) => import(pathToFileURL(path.join(DIST, file)).href);

/**
 * A pg.Pool whose every connection gets ballast's session settings (ef_search, iterative scan,
 * statement timeout). `options`: pg.Pool's (connectionString and max; or `pglite`, an embedded PGlite
 * opened in this process and called in this thread through ballast's own connection, a pool of one).
 */
export async function storePool({ pglite, ...options }, efSearch) {
  const { sessionSettings } = await dist('store-connection.js');
  const settings = sessionSettings({ statementTimeoutMs: 30_000, hnsw: { efSearch } });
  const onConnect = async (client) => {
    for (const statement of settings) await client.query(statement);
  };
  if (!pglite) return new pg.Pool({ ...options, onConnect });
  const { WorkerPgConnection } = await dist('embedded/worker-pg.connection.js');
  const inThread = { ready: Promise.resolve(), exchange: (bytes) => pglite.execProtocolStream(bytes, { throwOnError: false }) };
  class InThreadClient extends pg.Client {
    constructor(config) {
      super({ ...config, connection: new WorkerPgConnection(inThread) });
    }
  }
  return new pg.Pool({ Client: InThreadClient, max: 1, onConnect });
}

/** ballast's adapter on `pool` (index settings as the benchmark's) and collection `name`'s record. */
export async function storeAdapter(pool, name) {
  const { PgVectorStore } = await dist('pg-vector.store.js');
  const store = new PgVectorStore({ pool: async () => pool }, { m: 16, efConstruction: 64 });
  const collection = await store.findCollection(name);
  if (!collection) throw new Error(`the store has no collection ${name}`);
  return { store, collection };
}
