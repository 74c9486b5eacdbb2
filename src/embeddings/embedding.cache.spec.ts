import type { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { EmbeddingCache } from './embedding.cache.js';
import { StoredVector } from './stored-vector.js';

const spec = { model: 'm' };
const vectorOf = (bytes: number): StoredVector => StoredVector.fromFloat32(Buffer.alloc(bytes), undefined);
const cacheOf = (cacheSize: number, cacheMaxBytes: number): { cache: EmbeddingCache; metrics: MetricsService } => {
  const metrics = new MetricsService();
  const config = { embeddings: { cacheSize, cacheMaxBytes } } as unknown as AppConfig;
  return { cache: new EmbeddingCache(config, metrics), metrics };
};

describe(EmbeddingCache.name, () => {
  it('evicts the least recently used vectors when the bytes run out, not only the entries', () => {
    const { cache } = cacheOf(1000, 3 * 6_300);
    for (const text of ['a', 'b', 'c']) cache.set(spec, text, vectorOf(6_144));
    expect(cache.size).toBe(2);
    expect(cache.get(spec, 'a')).toBeUndefined();
    expect(cache.get(spec, 'c')).toBeDefined();
    expect(cache.bytes).toBeLessThanOrEqual(3 * 6_300);
  });

  it('does not cache a vector larger than the whole bound', () => {
    const { cache } = cacheOf(1000, 4_000);
    cache.set(spec, 'small', vectorOf(400));
    cache.set(spec, 'huge', vectorOf(6_144));
    expect(cache.get(spec, 'huge')).toBeUndefined();
    expect(cache.get(spec, 'small')).toBeDefined();
  });

  it('keeps the entry bound too, and keys by model and dimensions', () => {
    const { cache } = cacheOf(2, 1e9);
    cache.set(spec, 'a', vectorOf(8));
    cache.set({ model: 'm', dimensions: 2 }, 'a', vectorOf(8));
    cache.set(spec, 'b', vectorOf(8));
    expect(cache.size).toBe(2);
    expect(cache.get({ model: 'm', dimensions: 2 }, 'a')).toBeDefined();
    expect(cache.get({ model: 'other' }, 'b')).toBeUndefined();
  });

  it('shows its size in bytes on /metrics', async () => {
    const { cache, metrics } = cacheOf(10, 1e6);
    cache.set(spec, 'a', vectorOf(6_144));
    const { body } = await metrics.scrape();
    expect(body).toMatch(new RegExp(`ballast_embeddings_cache_bytes ${cache.bytes}\\b`));
    expect(cache.bytes).toBeGreaterThan(6_144);
    expect(body).toMatch(/ballast_embeddings_cache_entries 1\b/);
  });

  it('is off at size 0', () => {
    const { cache } = cacheOf(0, 1e6);
    cache.set(spec, 'a', vectorOf(8));
    expect(cache.enabled).toBe(false);
    expect(cache.get(spec, 'a')).toBeUndefined();
  });
});
