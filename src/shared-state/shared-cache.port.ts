/**
 * Bytes under string keys, shared by every instance of ballast: the second tier behind a process's
 * own cache. Never a source of errors: a key it cannot answer (absent, expired, Redis down or slower
 * than REDIS_TIMEOUT_MS) is `undefined`, a write it cannot make is dropped. Without REDIS_URL it
 * holds nothing (`enabled` false) and answers every key `undefined` at once.
 */
export abstract class SharedCache {
  abstract readonly enabled: boolean;

  /** One answer per key, in order: the bytes stored under it, or undefined. One round trip. */
  abstract getMany(keys: readonly string[]): Promise<Array<Buffer | undefined>>;

  /** Stores each value under its key for `ttlSeconds`. One round trip; resolves (never rejects) when done or dropped. */
  abstract setMany(entries: ReadonlyArray<readonly [key: string, value: Buffer]>, ttlSeconds: number): Promise<void>;
}

/** No shared tier (REDIS_URL unset): every key is a miss, nothing is stored. */
export class NoSharedCache extends SharedCache {
  readonly enabled = false;

  getMany(keys: readonly string[]): Promise<Array<Buffer | undefined>> {
    return Promise.resolve(new Array<Buffer | undefined>(keys.length).fill(undefined));
  }

  setMany(_entries: ReadonlyArray<readonly [key: string, value: Buffer]>, _ttlSeconds: number): Promise<void> {
    return Promise.resolve();
  }
}
