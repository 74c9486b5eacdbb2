import type { MetadataFilter } from './metadata-filter.js';

export interface CollectionRecord {
  id: number;
  name: string;
  /** null: text-only (no embeddings). */
  model: string | null;
  /** Fixed by the first vectors written (or given at creation); null until then. */
  dimensions: number | null;
  /** Dimensions asked of the model (`dimensions` in its requests), when the collection was created with them. */
  requested_dimensions: number | null;
  metadata: Record<string, unknown>;
  /** ISO 8601 in UTC (`2026-12-05T18:00:00.000Z`), whatever the session's time zone. */
  created_at: string;
}

export interface CollectionStats extends CollectionRecord {
  documents: number;
  chunks: number;
}

export interface ChunkWrite {
  text: string;
  hash: string;
  /** pgvector text (`[0.1,-0.2]`); null for a text-only collection. */
  vector: string | null;
}

export interface DocumentWrite {
  id: string;
  metadata: Record<string, unknown>;
  chunks: ChunkWrite[];
}

export interface DocumentRecord {
  id: string;
  metadata: Record<string, unknown>;
  /** ISO 8601 in UTC. */
  updated_at: string;
  chunks: Array<{ chunk: number; text: string }>;
}

export interface ChunkHit {
  id: string;
  chunk: number;
  text: string;
  metadata: Record<string, unknown>;
  score: number;
}

/**
 * The vector store port: what retrieval needs of a store, in its own words. One SQL adapter
 * (PgVectorStore) implements it for PostgreSQL + pgvector and for the embedded PGlite alike.
 */
export abstract class VectorStore {
  abstract createCollection(input: { name: string; model: string | null; dimensions: number | null; metadata: Record<string, unknown> }): Promise<CollectionRecord>;
  abstract listCollections(): Promise<CollectionStats[]>;
  abstract getCollection(name: string): Promise<CollectionStats | undefined>;
  /** The collection's row alone (no counts): what every write and search needs first, at the cost of one index lookup. */
  abstract findCollection(name: string): Promise<CollectionRecord | undefined>;
  /** Deletes the collection, its documents, chunks and index; false if there was none. */
  abstract deleteCollection(name: string): Promise<boolean>;
  /** Vectors already stored in the collection for these chunk hashes (pgvector text), so unchanged chunks are not embedded again. */
  abstract knownVectors(collectionId: number, hashes: string[]): Promise<Map<string, string>>;
  /**
   * Replaces each document (metadata and all its chunks) in one transaction: all or none. `dimensions`
   * fixes the collection's dimensions (and makes its index) if not yet fixed; a different number
   * than the fixed one throws 409 and writes nothing.
   */
  /** Answers how many chunk rows were written; rows already holding what was sent are left as they are. */
  abstract upsertDocuments(collection: CollectionRecord, documents: DocumentWrite[], dimensions: number | null): Promise<{ written: number }>;
  abstract getDocument(collectionId: number, id: string): Promise<DocumentRecord | undefined>;
  abstract deleteDocument(collectionId: number, id: string): Promise<boolean>;
  /** Nearest chunks by cosine distance (HNSW); score = 1 - distance. */
  abstract searchVector(collection: CollectionRecord, vector: string, topK: number, filter: MetadataFilter): Promise<ChunkHit[]>;
  /** Full-text match (stemmed, English), any query term counting; score = ts_rank. */
  abstract searchText(collection: CollectionRecord, query: string, topK: number, filter: MetadataFilter): Promise<ChunkHit[]>;
}
