import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { EmbeddingSpec, specKey } from './embedding.types.js';
import { StoredVector } from './stored-vector.js';
import { VectorArena } from './vector-arena.js';

/**
 * In-memory LRU of embeddings keyed by (model, dimensions, text), bounded twice: EMBEDDINGS_CACHE_SIZE
 * entries and EMBEDDINGS_CACHE_MAX_BYTES bytes (the vectors' bytes plus an allowance per entry; the
 * key's text counts too). A vector larger than the whole byte bound is not cached.
 *
 * The vectors' bytes live in a VectorArena (reused segments, not a Buffer each): what `get` and
 * `store` return may be reused once evicted, so read them only under a `lease()` taken before.
 */
@Injectable()
export class EmbeddingCache {
  private readonly lru?: LRUCache<string, StoredVector>;
  private readonly arena: VectorArena;
  private readonly defaultModel: string;

  constructor(config: AppConfig, metrics: MetricsService) {
    const { cacheSize: max, cacheMaxBytes: maxSize, cacheSegmentBytes: segmentBytes, defaultModel } = config.embeddings;
    this.defaultModel = defaultModel;
    // With the cache off too: a call's vectors are copied out of the upstream's answer (whose buffer
    // is reused) and read after it, and a Buffer each is what the arena exists to avoid.
    const arena = (this.arena = new VectorArena({ segmentBytes, minChunkBytes: 4 * segmentBytes }));
    if (max > 0 && maxSize > 0) {
      this.lru = new LRUCache<string, StoredVector>({
        max,
        maxSize,
        sizeCalculation: entrySize,
        dispose: (value) => value.release(arena),
      });
    }
    metrics.gauge('ballast_embeddings_cache_bytes', 'Bytes held by the embeddings cache (vectors, keys, per-entry allowance)', () => this.bytes);
    metrics.gauge('ballast_embeddings_cache_entries', 'Vectors held by the embeddings cache', () => this.size);
    metrics.gauge('ballast_embeddings_arena_bytes', "Bytes of the embeddings cache's memory segments (in use, free and waiting for readers)", () => this.arena.heldBytes);
    metrics.gauge('ballast_embeddings_arena_reused_segments', "Segments of the embeddings cache's memory reused since start (rather than allocated)", () => this.arena.stats.reused);
    metrics.gauge('ballast_embeddings_arena_refused_pieces', 'Vectors cached in memory of their own because segments were waiting for a long lease', () => this.arena.stats.refused);
  }

  /**
   * Until the returned function is called, no vector this cache hands out is overwritten (see
   * VectorArena): take it before the first `get`/`store` and end it when done reading the vectors.
   */
  lease(): () => void {
    return this.arena.lease();
  }

  get enabled(): boolean {
    return this.lru !== undefined;
  }

  get size(): number {
    return this.lru?.size ?? 0;
  }

  get bytes(): number {
    return this.lru?.calculatedSize ?? 0;
  }

  get(spec: EmbeddingSpec, text: string): StoredVector | undefined {
    return this.lru?.get(this.key(spec, text));
  }

  /**
   * Caches a copy of `vector` (its bytes into the arena) and answers that copy, which the caller uses
   * in its place. A copy that is not kept (the cache is off, or it is larger than the whole byte
   * bound) is released at once, as if evicted: it stays readable under the leases taken before.
   */
  store(spec: EmbeddingSpec, text: string, vector: StoredVector): StoredVector {
    const stored = vector.copyInto(this.arena);
    if (this.lru === undefined) {
      stored.release(this.arena);
      return stored;
    }
    const k = this.key(spec, text);
    // Larger than the whole byte bound: not kept (the LRU would refuse it, and not release it).
    if (entrySize(stored, k) > this.lru.maxSize) stored.release(this.arena);
    else this.lru.set(k, stored);
    return stored;
  }

  clear(): void {
    this.lru?.clear();
  }

  /**
   * The LRU key of a text in an embedding space. In the default space (the configured model, no
   * `dimensions`), the text itself: the same string the request carried, the batcher queued and the
   * answer stores under, so V8 hashes it once (a key made per lookup is a new string to hash, twice a
   * miss, with 100,000 entries). Any other space, or a text starting with NUL, gets
   * `NUL <length of the space's name> : <name> <text>`, which no text of the default space can equal.
   */
  key(spec: EmbeddingSpec, text: string): string {
    if (spec.dimensions === undefined && spec.model === this.defaultModel && text.charCodeAt(0) !== 0) return text;
    const space = specKey(spec);
    return `\u0000${space.length}:${space}${text}`;
  }
}

/** What an entry counts against EMBEDDINGS_CACHE_MAX_BYTES: its vector, and its key as UTF-16. */
function entrySize(value: StoredVector, key: string): number {
  return value.byteSize + 2 * key.length;
}

