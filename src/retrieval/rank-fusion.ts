import type { ChunkHit } from './store/vector-store.js';

/** The constant of reciprocal rank fusion (Cormack et al. 2009): damps the weight of the very first ranks. */
export const RRF_K = 60;

/**
 * Reciprocal rank fusion of ranked lists: each chunk scores the sum of 1 / (RRF_K + rank) over the
 * lists it appears in, so agreement between lists wins over a high rank in one. Best first.
 */
export function reciprocalRankFusion(lists: ChunkHit[][], topK: number): ChunkHit[] {
  const fused = new Map<string, ChunkHit>();
  for (const list of lists) {
    list.forEach((hit, rank) => {
      const key = `${hit.id}\u0000${hit.chunk}`;
      const score = 1 / (RRF_K + rank + 1);
      const seen = fused.get(key);
      if (seen) seen.score += score;
      else fused.set(key, { ...hit, score });
    });
  }
  return [...fused.values()].sort((a, b) => b.score - a.score || a.id.localeCompare(b.id) || a.chunk - b.chunk).slice(0, topK);
}
