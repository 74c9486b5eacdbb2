import type { Redis } from 'ioredis';
import type { Counter } from 'prom-client';
import { SharedCache } from './shared-cache.port.js';

/**
 * The shared tier in Redis: MGET for a batch of keys, SET ... EX for each new value, pipelined into
 * one write. Values are raw bytes (binary-safe strings in Redis). Failures and timeouts (the
 * client's REDIS_TIMEOUT_MS) become misses and dropped writes, counted in `lookups` as `error`.
 */
export class RedisSharedCache extends SharedCache {
  readonly enabled = true;

  constructor(
    private readonly client: Redis,
    private readonly lookups: Counter<'result'>,
  ) {
    super();
  }

  async getMany(keys: readonly string[]): Promise<Array<Buffer | undefined>> {
    if (keys.length === 0) return [];
    try {
      const values = await this.client.mgetBuffer(...keys);
      let hits = 0;
      const answers = values.map((value) => {
        if (value === null) return undefined;
        hits++;
        return value;
      });
      this.lookups.inc({ result: 'hit' }, hits);
      this.lookups.inc({ result: 'miss' }, keys.length - hits);
      return answers;
    } catch {
      this.lookups.inc({ result: 'error' }, keys.length);
      return new Array<Buffer | undefined>(keys.length).fill(undefined);
    }
  }

  async setMany(entries: ReadonlyArray<readonly [key: string, value: Buffer]>, ttlSeconds: number): Promise<void> {
    if (entries.length === 0) return;
    const pipeline = this.client.pipeline();
    for (const [key, value] of entries) pipeline.set(key, value, 'EX', ttlSeconds);
    // exec() resolves with per-command errors; it rejects only when nothing could be sent.
    await pipeline.exec().catch(() => undefined);
  }
}
