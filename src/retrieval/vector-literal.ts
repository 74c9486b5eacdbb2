import type { StoredVector } from '../embeddings/stored-vector.js';
import { malformedUpstreamResponse } from '../upstream/upstream-error.mapper.js';

/**
 * The one place an embedding from EmbeddingsService becomes what the store keeps: pgvector's text
 * form and the dimensions. Everything else in retrieval handles vectors only as this text. The
 * embeddings path keeps a vector as the upstream's JSON text (`[0.1,-0.2,...]`), which is already
 * pgvector's input form, so no number is parsed or printed here.
 */
export function vectorLiteral(embedding: StoredVector): { literal: string; dimensions: number } {
  const dimensions = embedding.dimensions;
  if (dimensions <= 0) throw malformedUpstreamResponse('an embedding is not an array of numbers');
  return { literal: embedding.jsonText(), dimensions };
}
