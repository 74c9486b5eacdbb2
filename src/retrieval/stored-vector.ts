import pgvector from 'pgvector';

/**
 * The one place an embedding from EmbeddingsService becomes what the store keeps: pgvector's text
 * form and the dimensions. Everything else in retrieval handles vectors only as this text.
 */
export function toStoredVector(embedding: number[]): { literal: string; dimensions: number } {
  return { literal: pgvector.toSql(embedding) as string, dimensions: embedding.length };
}
