import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { SharedCache } from '../shared-state/shared-cache.port.js';
import type { EmbeddingSpec } from './embedding.types.js';
import { decodeSharedVector, encodeSharedVector, sharedVectorKey } from './shared-vector.codec.js';
import { StoredVector } from './stored-vector.js';

/**
 * The embeddings cache's second tier, shared by every instance (REDIS_URL): asked for what the
 * process's own LRU misses, given every vector fetched from the upstream. Each value is the
 * vector's own bytes (shared-vector.codec.ts), so a hit is a copy, never a parse. Never a reason
 * for a request to fail or wait long: the SharedCache answers a Redis that is down or slower than
 * REDIS_TIMEOUT_MS with misses, and writes are not awaited.
 */
@Injectable()
export class EmbeddingSharedTier {
  private readonly ttlSeconds: number;

  constructor(
    private readonly shared: SharedCache,
    config: AppConfig,
  ) {
    this.ttlSeconds = config.embeddings.cacheTtlS;
  }

  get enabled(): boolean {
    return this.shared.enabled;
  }

  /** One answer per text, in order: the vector another instance (or this one) stored, or undefined. */
  async getMany(spec: EmbeddingSpec, texts: readonly string[]): Promise<Array<StoredVector | undefined>> {
    if (!this.shared.enabled || texts.length === 0) return new Array<StoredVector | undefined>(texts.length).fill(undefined);
    const values = await this.shared.getMany(texts.map((text) => sharedVectorKey(spec, text)));
    return values.map((value) => {
      const forms = value === undefined ? undefined : decodeSharedVector(value);
      return forms === undefined ? undefined : StoredVector.fromOwnedForms(forms);
    });
  }

  /** Stores the vectors in the background (one round trip); failures are dropped. */
  setMany(spec: EmbeddingSpec, texts: readonly string[], vectors: readonly StoredVector[]): void {
    if (!this.shared.enabled || texts.length === 0) return;
    const entries: Array<readonly [string, Buffer]> = [];
    texts.forEach((text, i) => {
      const vector = vectors[i];
      let value: Buffer;
      try {
        value = encodeSharedVector({
          dimensions: vector.knownDimensions,
          tokens: vector.tokens,
          json: vector.hasJson ? vector.jsonBytes() : undefined,
          f32: vector.hasBase64 ? vector.float32Bytes() : undefined,
        });
      } catch {
        return; // a vector only checked by its length, whose base64 does not decode: not shared
      }
      entries.push([sharedVectorKey(spec, text), value]);
    });
    void this.shared.setMany(entries, this.ttlSeconds);
  }
}
