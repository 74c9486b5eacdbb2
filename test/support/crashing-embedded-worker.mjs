// The embedded store's real worker (dist/, `npm run build`), which a test can make die for real: a
// statement naming ballast_test_exit ends the thread with process.exit(3), one naming
// ballast_test_throw throws an uncaught error in it. Its listener is registered before the real
// worker's, so it sees each request first.
import { parentPort } from 'node:worker_threads';

parentPort.on('message', (request) => {
  if (request.op !== 'exec') return;
  const text = Buffer.from(request.bytes).toString('latin1');
  if (text.includes('ballast_test_exit')) process.exit(3);
  if (text.includes('ballast_test_throw')) throw new Error('boom in the worker');
});
await import(new URL('../../dist/retrieval/store/embedded/embedded-postgres.worker.js', import.meta.url).href);
