// Experiment, cited in docs/retrieval.md ("Off the event loop"): main-thread cost of writing one search statement (Parse, Bind with a vector literal, Describe, Execute, Sync) and
// handing it to the store (`node bench/experiments/embedded-statement-write.mjs [dims]`, after npm run build): PGlite's connector (+ the old holding exec) vs ballast's WorkerPgConnection. Interleaved rounds.
import { PglitePgConnection } from '@electric-sql/pglite/node-postgres';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { WorkerPgConnection } = await import(pathToFileURL(path.join(ROOT, 'dist', 'retrieval', 'store', 'embedded', 'worker-pg.connection.js')).href);
const dims = Number(process.argv[2] ?? 1536);
const vec = '[' + Array.from({ length: dims }, (_, i) => (Math.sin(i) * 0.05).toFixed(6)).join(',') + ']';
const text = 'SELECT document_id AS id, chunk, text, metadata, 1 - (embedding::vector(1536) <=> $1::vector(1536)) AS score FROM retrieval_chunks WHERE collection_id = 1 AND embedding IS NOT NULL AND TRUE ORDER BY embedding::vector(1536) <=> $1::vector(1536) LIMIT $2';
let sink = 0;
// old: the connector sends each message; Parse..Execute held (answered [] at once), concatenated at Sync
const ANSWERED = new Set([0x50, 0x42, 0x44, 0x45, 0x43]);
let held = [];
const oldBackend = { waitReady: Promise.resolve(), execProtocolStream: async (b) => { if (ANSWERED.has(b[0])) { held.push(b); return []; } const batch = Buffer.concat([...held, b]); held = []; sink += batch.length; return []; } };
const oldConn = new PglitePgConnection({ pglite: oldBackend });
const newConn = new WorkerPgConnection({ ready: Promise.resolve(), exchange: async (b) => { sink += b.length; return []; } });
const stmt = (c) => { c.parse({ text }); c.bind({ values: [vec, 10], valueMapper: (v) => (typeof v === 'number' ? String(v) : v) }); c.describe({ type: 'P', name: '' }); c.execute({}); c.sync(); };
async function round(c, n) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) { stmt(c); if (i % 20 === 19) await new Promise((r) => setImmediate(r)); }
  await new Promise((r) => setImmediate(r));
  return ((performance.now() - t0) / n) * 1000;
}
for (let r = 0; r < 6; r++) {
  const a = await round(oldConn, 2000);
  const b = await round(newConn, 2000);
  if (r > 0) console.log(`dims ${dims} round ${r}: PGlite connector ${a.toFixed(1)} us, WorkerPgConnection ${b.toFixed(1)} us per statement`);
}
console.log(sink > 0);
