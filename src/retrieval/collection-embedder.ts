import { Injectable } from '@nestjs/common';
import { RequestContext } from '../common/http/request-context.js';
import { TimeSlice } from '../common/scheduling/time-slice.js';
import { AppConfig } from '../config/app-config.js';
import { EmbedResult, EmbeddingsService } from '../embeddings/embeddings.service.js';
import { dimensionMismatch } from './errors/retrieval-errors.js';
import type { CollectionRecord } from './store/vector-store.js';
import { vectorLiteral } from './vector-literal.js';

export interface EmbeddedTexts {
  /** pgvector text per input, in order. */
  vectors: string[];
  dimensions: number | null;
  usage?: { prompt_tokens: number; total_tokens: number };
}

interface Literals {
  literals: Array<{ literal: string; dimensions: number }>;
  usage?: { prompt_tokens: number; total_tokens: number };
}

/**
 * Embeds texts for one collection through the embeddings capability (batched, deduplicated,
 * cached), in its model and dimensions, and checks the vectors fit the collection (409 if not).
 */
@Injectable()
export class CollectionEmbedder {
  constructor(
    private readonly embeddings: EmbeddingsService,
    private readonly config: AppConfig,
  ) {}

  async embed(collection: CollectionRecord, texts: string[], ctx: RequestContext): Promise<EmbeddedTexts> {
    if (texts.length === 0 || collection.model === null) return { vectors: [], dimensions: collection.dimensions };
    const perCall = this.config.embeddings.maxInputs;
    const calls: Promise<Literals>[] = [];
    for (let i = 0; i < texts.length; i += perCall) {
      const request: Parameters<EmbeddingsService['embed']>[0] = { texts: texts.slice(i, i + perCall), model: collection.model, field: 'documents' };
      if (collection.requested_dimensions !== null) request.dimensions = collection.requested_dimensions;
      // The vectors are readable only inside the callback: each becomes its pgvector text there.
      calls.push(this.embeddings.embed(request, ctx, literalsOf));
    }
    const results = await Promise.all(calls);
    const vectors: string[] = [];
    let dimensions = collection.dimensions;
    let tokens: number | undefined = 0;
    for (const result of results) {
      for (const stored of result.literals) {
        dimensions ??= stored.dimensions;
        if (stored.dimensions !== dimensions) throw dimensionMismatch(collection.name, dimensions, stored.dimensions);
        vectors.push(stored.literal);
      }
      tokens = result.usage === undefined || tokens === undefined ? undefined : tokens + result.usage.prompt_tokens;
    }
    const embedded: EmbeddedTexts = { vectors, dimensions };
    if (tokens !== undefined) embedded.usage = { prompt_tokens: tokens, total_tokens: tokens };
    return embedded;
  }
}

/** Each vector's pgvector text and length. Reading a length walks the text (200 vectors of 384 dims: ~10 ms), so in slices. */
async function literalsOf(result: EmbedResult): Promise<Literals> {
  const slice = new TimeSlice();
  const literals: Literals['literals'] = [];
  for (const embedding of result.embeddings) {
    if (slice.spent()) await slice.pause();
    literals.push(vectorLiteral(embedding));
  }
  return { literals, usage: result.usage };
}
