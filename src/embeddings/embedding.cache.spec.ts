import type { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { EmbeddingCache } from './embedding.cache.js';
import { StoredVector } from './stored-vector.js';

const spec = { model: 'm' };
const vectorOf = (bytes: number): StoredVector => StoredVector.fromFloat32(Buffer.alloc(bytes), undefined);
const cacheOf = (cacheSize: number, cacheMaxBytes: number): { cache: EmbeddingCache; metrics: MetricsService } => {
  const metrics = new MetricsService();
  const config = { embeddings: { cacheSize, cacheMaxBytes, cacheSegmentBytes: 4 * 1024 * 1024, defaultModel: 'm' } } as unknown as AppConfig;
  return { cache: new EmbeddingCache(config, metrics), metrics };
};

describe(EmbeddingCache.name, () => {
  it('evicts the least recently used vectors when the bytes run out, not only the entries', () => {
    const { cache } = cacheOf(1000, 3 * 6_300);
    for (const text of ['a', 'b', 'c']) cache.store(spec, text, vectorOf(6_144));
    expect(cache.size).toBe(2);
    expect(cache.get(spec, 'a')).toBeUndefined();
    expect(cache.get(spec, 'c')).toBeDefined();
    expect(cache.bytes).toBeLessThanOrEqual(3 * 6_300);
  });

  it('does not cache a vector larger than the whole bound', () => {
    const { cache } = cacheOf(1000, 4_000);
    cache.store(spec, 'small', vectorOf(400));
    cache.store(spec, 'huge', vectorOf(6_144));
    expect(cache.get(spec, 'huge')).toBeUndefined();
    expect(cache.get(spec, 'small')).toBeDefined();
  });

  it('keys the default space by the text itself, and no text of it can pose as a key of another space', () => {
    const { cache } = cacheOf(100, 1e9);
    expect(cache.key(spec, 'hello')).toBe('hello');
    const other = { model: 'n' };
    const lookalike = cache.key(other, 'x'); // NUL "1:n" "x"
    const [plain, posing, inOther, withDims] = [vectorOf(4), vectorOf(8), vectorOf(12), vectorOf(16)];
    cache.store(spec, 'x', plain);
    cache.store(spec, lookalike, posing); // a default-space text that spells the other space's key
    cache.store(other, 'x', inOther);
    cache.store({ model: 'm', dimensions: 1 }, 'x', withDims);
    expect(cache.size).toBe(4);
    expect(cache.get(spec, 'x')?.byteSize).toBe(plain.byteSize);
    expect(cache.get(spec, lookalike)?.byteSize).toBe(posing.byteSize);
    expect(cache.get(other, 'x')?.byteSize).toBe(inOther.byteSize);
    expect(cache.get({ model: 'm', dimensions: 1 }, 'x')?.byteSize).toBe(withDims.byteSize);
  });

  it('keeps the entry bound too, and keys by model and dimensions', () => {
    const { cache } = cacheOf(2, 1e9);
    cache.store(spec, 'a', vectorOf(8));
    cache.store({ model: 'm', dimensions: 2 }, 'a', vectorOf(8));
    cache.store(spec, 'b', vectorOf(8));
    expect(cache.size).toBe(2);
    expect(cache.get({ model: 'm', dimensions: 2 }, 'a')).toBeDefined();
    expect(cache.get({ model: 'other' }, 'b')).toBeUndefined();
  });

  it('shows its size in bytes on /metrics', async () => {
    const { cache, metrics } = cacheOf(10, 1e6);
    cache.store(spec, 'a', vectorOf(6_144));
    const { body } = await metrics.scrape();
    expect(body).toMatch(new RegExp(`ballast_embeddings_cache_bytes ${cache.bytes}\\b`));
    expect(cache.bytes).toBeGreaterThan(6_144);
    expect(body).toMatch(/ballast_embeddings_cache_entries 1\b/);
  });

  it('is off at size 0', () => {
    const { cache } = cacheOf(0, 1e6);
    cache.store(spec, 'a', vectorOf(8));
    expect(cache.enabled).toBe(false);
    expect(cache.get(spec, 'a')).toBeUndefined();
  });

  it('keeps an evicted vector readable for a lease taken before it was handed out, and reuses its memory only after', () => {
    // 600 vectors of 8 KB: ~1.2 segments' worth of arena churn per 100 entries kept.
    const { cache } = cacheOf(100, 1e9);
    const endLease = cache.lease();
    const first = cache.store(spec, 'first', StoredVector.fromFloat32(Buffer.alloc(8192, 7), undefined));
    for (let i = 0; i < 600; i++) cache.store(spec, `t${i}`, StoredVector.fromFloat32(Buffer.alloc(8192, i % 200), undefined));
    expect(cache.get(spec, 'first')).toBeUndefined();
    // Evicted long ago, but the lease is open: nothing was written over it.
    expect(first.float32Bytes().every((b) => b === 7)).toBe(true);
    endLease();
    for (let i = 600; i < 1200; i++) cache.store(spec, `t${i}`, StoredVector.fromFloat32(Buffer.alloc(8192, 255), undefined));
    // With no lease open its segment was reused (bytes overwritten): only a reader without a lease could see that.
    expect(first.float32Bytes().every((b) => b === 7)).toBe(false);
    for (let i = 1100; i < 1200; i++) expect(cache.get(spec, `t${i}`)!.float32Bytes().every((b) => b === 255)).toBe(true);
  });

  it('with the cache off, keeps what it hands out readable under a lease and reuses that memory after (no Buffer per vector)', async () => {
    const { cache, metrics } = cacheOf(0, 1e6);
    const endLease = cache.lease();
    const first = cache.store(spec, 'first', StoredVector.fromFloat32(Buffer.alloc(8192, 7), undefined));
    for (let i = 0; i < 600; i++) cache.store(spec, `t${i}`, StoredVector.fromFloat32(Buffer.alloc(8192, 1), undefined));
    expect(first.float32Bytes().every((b) => b === 7)).toBe(true);
    endLease();
    // ~55 MB more through it: the same 16 MiB are reused over and over.
    for (let i = 0; i < 5000; i++) cache.store(spec, `u${i}`, StoredVector.fromFloat32(Buffer.alloc(8192, 255), undefined));
    expect(cache.size).toBe(0);
    const { body } = await metrics.scrape();
    expect(body).toMatch(/ballast_embeddings_arena_bytes 16777216\b/);
    expect(body).toMatch(/ballast_embeddings_arena_reused_segments [1-9]/);
  });

  it('copies a vector made of borrowed bytes (an upstream answer being read) before keeping it, even with the cache off', () => {
    for (const size of [10, 0]) {
      const { cache } = cacheOf(size, 1e6);
      const answer = Buffer.from('[0.5,0.25]');
      const stored = cache.store(spec, 'a', StoredVector.fromJson(answer, 2, undefined));
      answer.fill(0x30);
      expect(stored.jsonText()).toBe('[0.5,0.25]');
    }
  });
});
