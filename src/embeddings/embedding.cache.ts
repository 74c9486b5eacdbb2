import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { EmbeddingSpec, specKey } from './embedding.types.js';
import { StoredVector } from './stored-vector.js';

/**
 * In-memory LRU of embeddings keyed by (model, dimensions, text), bounded twice: EMBEDDINGS_CACHE_SIZE
 * entries and EMBEDDINGS_CACHE_MAX_BYTES bytes (the vectors' bytes plus an allowance per entry; the
 * key's text counts too). A vector larger than the whole byte bound is not cached.
 */
@Injectable()
export class EmbeddingCache {
  private readonly lru?: LRUCache<string, StoredVector>;

  constructor(config: AppConfig, metrics: MetricsService) {
    const { cacheSize: max, cacheMaxBytes: maxSize } = config.embeddings;
    if (max > 0 && maxSize > 0) {
      this.lru = new LRUCache<string, StoredVector>({
        max,
        maxSize,
        maxEntrySize: maxSize,
        sizeCalculation: (value, key) => value.byteSize + 2 * key.length,
      });
    }
    metrics.gauge('ballast_embeddings_cache_bytes', 'Bytes held by the embeddings cache (vectors, keys, per-entry allowance)', () => this.bytes);
    metrics.gauge('ballast_embeddings_cache_entries', 'Vectors held by the embeddings cache', () => this.size);
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
    return this.lru?.get(key(spec, text));
  }

  set(spec: EmbeddingSpec, text: string, value: StoredVector): void {
    this.lru?.set(key(spec, text), value);
  }

  clear(): void {
    this.lru?.clear();
  }
}

function key(spec: EmbeddingSpec, text: string): string {
  return `${specKey(spec)}\u0000${text}`;
}
