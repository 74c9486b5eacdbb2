/** Messages between EmbeddedPostgres (main thread) and the worker that owns PGlite. */
export interface EmbeddedWorkerData {
  dataDir: string;
  /** Niceness the worker gives its own thread (RETRIEVAL_STORE_NICE; 0 = the event loop's). */
  nice: number;
}

export type EmbeddedRequest = { id: number; op: 'exec'; bytes: Uint8Array } | { id: number; op: 'close' };

/** A backend message as the worker sends it: pg-protocol's message fields, copied to a plain object. */
export type WireMessage = { name: string } & Record<string, unknown>;

export type EmbeddedReply =
  | { kind: 'ready' }
  | { kind: 'failed'; message: string }
  | { kind: 'result'; id: number; messages: WireMessage[] }
  | { kind: 'error'; id: number; message: string };
