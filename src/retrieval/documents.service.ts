import { Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { InvalidRequestError } from '../common/errors/index.js';
import { RequestContext } from '../common/http/request-context.js';
import { TimeSlice } from '../common/scheduling/time-slice.js';
import { AppConfig } from '../config/app-config.js';
import { chunkText, ChunkOptions } from './chunking/chunker.js';
import { CollectionEmbedder } from './collection-embedder.js';
import { CollectionsService } from './collections.service.js';
import { DeletedDto } from './dto/collection.dto.js';
import { DocumentDto, UpsertDocumentsDto, UpsertDocumentsResponseDto } from './dto/documents.dto.js';
import { documentNotFound } from './errors/retrieval-errors.js';
import { ChunkWrite, DocumentWrite, VectorStore } from './store/vector-store.js';

/**
 * Upserts documents: each text is chunked, each chunk hashed; chunks whose hash the collection
 * already holds keep their stored vector, only the others are embedded; then every document is
 * replaced in one transaction.
 */
@Injectable()
export class DocumentsService {
  constructor(
    private readonly store: VectorStore,
    private readonly collections: CollectionsService,
    private readonly embedder: CollectionEmbedder,
    private readonly config: AppConfig,
  ) {}

  async upsert(name: string, dto: UpsertDocumentsDto, ctx: RequestContext): Promise<UpsertDocumentsResponseDto> {
    const { maxDocuments } = this.config.retrieval;
    if (dto.documents.length > maxDocuments) {
      throw new InvalidRequestError(`documents has ${dto.documents.length} items; at most ${maxDocuments} are allowed per call (RETRIEVAL_MAX_DOCUMENTS)`, {
        status: 413,
        param: 'documents',
        code: 'too_many_documents',
      });
    }
    if (dto.documents.length === 0) throw new InvalidRequestError('documents must contain at least 1 document', { param: 'documents' });
    const options = this.chunkOptions(dto);
    const writes = await this.chunked(dto, options);

    const collection = await ctx.timeStore(() => this.collections.require(name));
    let dimensions: number | null = null;
    let embedded = 0;
    let usage: UpsertDocumentsResponseDto['usage'];
    if (collection.model !== null) {
      const all = writes.flatMap((w) => w.chunks);
      const known = await ctx.timeStore(() => this.store.knownVectors(collection.id, [...new Set(all.map((c) => c.hash))]));
      const missing = [...new Map(all.filter((c) => !known.has(c.hash)).map((c) => [c.hash, c.text])).entries()];
      const result = await this.embedder.embed(collection, missing.map(([, text]) => text), ctx);
      missing.forEach(([hash], i) => known.set(hash, result.vectors[i]));
      for (const chunk of all) chunk.vector = known.get(chunk.hash)!;
      dimensions = result.dimensions;
      embedded = missing.length;
      usage = result.usage;
    }
    const { written } = await ctx.timeStore(() => this.store.upsertDocuments(collection, writes, dimensions));
    const response: UpsertDocumentsResponseDto = {
      collection: collection.name,
      documents: writes.map((w) => ({ id: w.id, chunks: w.chunks.length })),
      embedded_chunks: embedded,
      written_chunks: written,
    };
    if (usage) response.usage = usage;
    return response;
  }

  async get(name: string, id: string): Promise<DocumentDto> {
    const collection = await this.collections.require(name);
    const found = await this.store.getDocument(collection.id, id);
    if (!found) throw documentNotFound(name, id);
    return found;
  }

  async delete(name: string, id: string): Promise<DeletedDto> {
    const collection = await this.collections.require(name);
    if (!(await this.store.deleteDocument(collection.id, id))) throw documentNotFound(name, id);
    return { id, deleted: true };
  }

  /**
   * Each document's chunks with their content hashes, in slices of the event loop: a call of 1,000
   * documents (or one long text) is tens of milliseconds of splitting and SHA-256.
   */
  private async chunked(dto: UpsertDocumentsDto, options: ChunkOptions): Promise<DocumentWrite[]> {
    const slice = new TimeSlice();
    const seen = new Set<string>();
    const writes: DocumentWrite[] = [];
    for (const [i, doc] of dto.documents.entries()) {
      if (doc.text.trim().length === 0) throw new InvalidRequestError(`documents[${i}].text is empty`, { param: `documents[${i}].text`, code: 'empty_text' });
      const id = doc.id ?? randomUUID();
      if (seen.has(id)) throw new InvalidRequestError(`documents[${i}].id '${id}' appears twice in this call`, { param: `documents[${i}].id` });
      seen.add(id);
      if (slice.spent()) await slice.pause();
      const chunks: ChunkWrite[] = [];
      for (const text of chunkText(doc.text, options)) {
        if (slice.spent()) await slice.pause();
        chunks.push({ text, hash: hashOf(text), vector: null });
      }
      writes.push({ id, metadata: doc.metadata ?? {}, chunks });
    }
    return writes;
  }

  private chunkOptions(dto: UpsertDocumentsDto): ChunkOptions {
    const unit = dto.chunking?.unit ?? 'characters';
    const size = dto.chunking?.size ?? (unit === 'tokens' ? Math.ceil(this.config.retrieval.chunkSize / 4) : this.config.retrieval.chunkSize);
    const overlap = dto.chunking?.overlap ?? Math.min(unit === 'tokens' ? Math.ceil(this.config.retrieval.chunkOverlap / 4) : this.config.retrieval.chunkOverlap, Math.floor(size / 2));
    const chars = unit === 'tokens' ? size * 4 : size;
    if (chars > this.config.embeddings.maxTextChars) {
      throw new InvalidRequestError(`chunking.size is over EMBEDDINGS_MAX_TEXT_CHARS (${this.config.embeddings.maxTextChars} characters)`, { param: 'chunking.size' });
    }
    if (overlap >= size) throw new InvalidRequestError('chunking.overlap must be smaller than chunking.size', { param: 'chunking.overlap' });
    return { size, overlap, unit };
  }
}

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}
