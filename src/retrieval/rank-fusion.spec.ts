import { reciprocalRankFusion, RRF_K } from './rank-fusion.js';
import type { ChunkHit } from './store/vector-store.js';

const hit = (id: string, score = 0.5): ChunkHit => ({ id, chunk: 0, text: id, metadata: {}, score });

describe(reciprocalRankFusion.name, () => {
  it('ranks a chunk both lists hold above one only a single list ranks first', () => {
    const fused = reciprocalRankFusion([[hit('a'), hit('both')], [hit('b'), hit('both')]], 3);
    expect(fused.map((h) => h.id)).toEqual(['both', 'a', 'b']);
    expect(fused[0].score).toBeCloseTo(2 / (RRF_K + 2));
    expect(fused[1].score).toBeCloseTo(1 / (RRF_K + 1));
  });

  it('cuts to top_k and keeps the text and metadata of the hit', () => {
    const fused = reciprocalRankFusion([[hit('a'), hit('b'), hit('c')], []], 2);
    expect(fused).toEqual([expect.objectContaining({ id: 'a', text: 'a' }), expect.objectContaining({ id: 'b' })]);
  });
});
