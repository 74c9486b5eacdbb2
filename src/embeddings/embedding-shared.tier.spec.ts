import { AppConfig } from '../config/app-config.js';
import { validateEnvironment } from '../config/environment.loader.js';
import { NoSharedCache, SharedCache } from '../shared-state/shared-cache.port.js';
import { EmbeddingSharedTier } from './embedding-shared.tier.js';
import { decodeSharedVector, sharedVectorKey } from './shared-vector.codec.js';
import { StoredVector } from './stored-vector.js';

/** The SharedCache port in memory (the Redis adapter is tested against a real Redis in test/e2e/shared-cache). */
class MemorySharedCache extends SharedCache {
  readonly enabled = true;
  readonly values = new Map<string, Buffer>();
  readonly ttls: number[] = [];
  failing = false;
  getMany(keys: readonly string[]): Promise<Array<Buffer | undefined>> {
    return Promise.resolve(keys.map((key) => (this.failing ? undefined : this.values.get(key))));
  }
  setMany(entries: ReadonlyArray<readonly [string, Buffer]>, ttlSeconds: number): Promise<void> {
    if (!this.failing) for (const [key, value] of entries) this.values.set(key, value);
    this.ttls.push(ttlSeconds);
    return Promise.resolve();
  }
}

const config = new AppConfig(validateEnvironment({ EMBEDDINGS_CACHE_TTL_S: '600' }));
const spec = { model: 'text-embedding-3-small', dimensions: 3 };
const f32 = Buffer.from(new Float32Array([0.5, -1, 2]).buffer);

describe(EmbeddingSharedTier.name, () => {
  it('stores each vector as its own bytes under the key of its space and text, with EMBEDDINGS_CACHE_TTL_S', () => {
    const cache = new MemorySharedCache();
    const tier = new EmbeddingSharedTier(cache, config);
    const json = StoredVector.fromJson(Buffer.from('[0.5,-1,2]'), undefined, 1.5);
    tier.setMany(spec, ['a', 'b'], [json, StoredVector.fromFloat32(f32, undefined)]);
    expect(cache.ttls).toEqual([600]);
    const a = decodeSharedVector(cache.values.get(sharedVectorKey(spec, 'a'))!);
    expect(a).toEqual({ dimensions: undefined, tokens: 1.5, json: Buffer.from('[0.5,-1,2]') }); // not counted just to store it
    const b = decodeSharedVector(cache.values.get(sharedVectorKey(spec, 'b'))!);
    expect(b).toEqual({ dimensions: 3, tokens: undefined, f32 });
  });

  it('reads them back as StoredVectors holding the same bytes, in key order, misses undefined', async () => {
    const cache = new MemorySharedCache();
    const tier = new EmbeddingSharedTier(cache, config);
    tier.setMany(spec, ['a', 'b'], [StoredVector.fromJson(Buffer.from('[0.5,-1,2]'), 3, 2), StoredVector.fromFloat32(f32, 4).withBothForms()]);
    const [b, none, a] = await tier.getMany(spec, ['b', 'none', 'a']);
    expect(none).toBeUndefined();
    expect(a!.jsonBytes().toString()).toBe('[0.5,-1,2]');
    expect([a!.tokens, a!.hasBase64, a!.dimensions]).toEqual([2, false, 3]);
    expect(b!.float32Bytes()).toEqual(f32);
    expect([b!.tokens, b!.hasJson, b!.jsonBytes().toString()]).toEqual([4, true, '[0.5,-1,2]']);
    expect([...b!.float32()]).toEqual([0.5, -1, 2]);
  });

  it('another space (model or dimensions) misses; a corrupt value misses; a failing store misses', async () => {
    const cache = new MemorySharedCache();
    const tier = new EmbeddingSharedTier(cache, config);
    tier.setMany(spec, ['a'], [StoredVector.fromFloat32(f32, 1)]);
    await expect(tier.getMany({ model: spec.model }, ['a'])).resolves.toEqual([undefined]);
    await expect(tier.getMany({ model: 'other', dimensions: 3 }, ['a'])).resolves.toEqual([undefined]);
    cache.values.set(sharedVectorKey(spec, 'a'), Buffer.from('not a vector'));
    await expect(tier.getMany(spec, ['a'])).resolves.toEqual([undefined]);
    cache.failing = true;
    tier.setMany(spec, ['c'], [StoredVector.fromFloat32(f32, 1)]);
    await expect(tier.getMany(spec, ['c'])).resolves.toEqual([undefined]);
  });

  it('without REDIS_URL (NoSharedCache): off, every text a miss', async () => {
    const tier = new EmbeddingSharedTier(new NoSharedCache(), config);
    expect(tier.enabled).toBe(false);
    tier.setMany(spec, ['a'], [StoredVector.fromFloat32(f32, 1)]);
    await expect(tier.getMany(spec, ['a', 'b'])).resolves.toEqual([undefined, undefined]);
  });
});
