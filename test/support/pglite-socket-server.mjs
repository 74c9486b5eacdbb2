// A PostgreSQL server for tests: PGlite (Postgres 18 + the real pgvector) behind its socket server,
// speaking the wire protocol on 127.0.0.1, so the DATABASE_URL code path (pg.Pool over TCP) runs
// for real. No pgvector server package exists for this machine's Debian. Usage: node this-file
// <dataDir|memory://> [port] [maxConnections, default 4]; prints "listening <port>" when ready; SIGTERM stops it.
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const dataDir = process.argv[2] ?? 'memory://';
const port = Number(process.argv[3] ?? 0);
const maxConnections = Number(process.argv[4] ?? 4);
const db = await PGlite.create({ dataDir, extensions: { vector } });
const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port, maxConnections });
await server.start();
const address = server.getServerConn();
process.stdout.write(`listening ${address.split(':').pop()}\n`);
const stop = async () => {
  await server.stop().catch(() => undefined);
  await db.close().catch(() => undefined);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
