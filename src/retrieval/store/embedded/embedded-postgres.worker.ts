import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { parentPort, workerData } from 'node:worker_threads';
import { lowerPriority } from '../../../common/scheduling/lower-priority.js';
import type { EmbeddedReply, EmbeddedRequest, EmbeddedWorkerData, WireMessage } from './embedded-postgres.protocol.js';

// PGlite computes on the thread that calls it (WASM): this worker owns it so the event loop never waits on SQL.
const port = parentPort!;
const { dataDir, nice } = workerData as EmbeddedWorkerData;
// At RETRIEVAL_STORE_NICE (default 0, the event loop's): raised, a busy store yields the core to the API.
lowerPriority(nice);
const post = (reply: EmbeddedReply): void => port.postMessage(reply);

/** pg-protocol messages are class instances (errors are Error subclasses): copy their own fields, message included. */
function plain(message: object): WireMessage {
  const copy: Record<string, unknown> = { ...message };
  if (message instanceof Error) copy.message = message.message;
  return copy as WireMessage;
}

async function main(): Promise<void> {
  let db: PGlite;
  try {
    db = await PGlite.create({ dataDir, extensions: { vector } });
  } catch (error) {
    post({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
    return;
  }
  // One request at a time, in arrival order: the wire protocol of one session is a sequence.
  let queue: Promise<unknown> = Promise.resolve();
  port.on('message', (request: EmbeddedRequest) => {
    queue = queue.then(async () => {
      if (request.op === 'close') {
        await db.close().catch(() => undefined);
        post({ kind: 'result', id: request.id, messages: [] });
        return;
      }
      try {
        const messages = await db.execProtocolStream(request.bytes, { throwOnError: false });
        post({ kind: 'result', id: request.id, messages: messages.map(plain) });
      } catch (error) {
        post({ kind: 'error', id: request.id, message: error instanceof Error ? error.message : String(error) });
        // A WASM trap (abort, out of memory) leaves PGlite unusable: end this worker, so its owner starts a fresh one.
        if (error instanceof Error && error.name === 'RuntimeError') process.exit(70);
      }
    });
  });
  post({ kind: 'ready' });
}

void main();
