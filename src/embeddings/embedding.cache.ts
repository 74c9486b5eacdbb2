import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { AppConfig } from '../config/app-config.js';
import { Embedded, EmbeddingSpec, specKey } from './embedding.types.js';

/** In-memory LRU of embeddings keyed by (model, dimensions, text), bounded by EMBEDDINGS_CACHE_SIZE entries. */
@Injectable()
export class EmbeddingCache {
  private readonly lru?: LRUCache<string, Embedded>;

  constructor(config: AppConfig) {
    const max = config.embeddings.cacheSize;
    if (max > 0) this.lru = new LRUCache<string, Embedded>({ max });
  }

  get enabled(): boolean {
    return this.lru !== undefined;
  }

  get size(): number {
    return this.lru?.size ?? 0;
  }

  get(spec: EmbeddingSpec, text: string): Embedded | undefined {
    return this.lru?.get(key(spec, text));
  }

  set(spec: EmbeddingSpec, text: string, value: Embedded): void {
    this.lru?.set(key(spec, text), value);
  }

  clear(): void {
    this.lru?.clear();
  }
}

function key(spec: EmbeddingSpec, text: string): string {
  return `${specKey(spec)}\u0000${text}`;
}
