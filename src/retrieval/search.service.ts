import { Injectable } from '@nestjs/common';
import { ApiError, InvalidRequestError, NotConfiguredError, ShuttingDownError } from '../common/errors/index.js';
import { RequestContext } from '../common/http/request-context.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { UpstreamPoolExhaustedError } from '../upstream/errors/upstream-pool-exhausted.error.js';
import { UpstreamRateLimitedError } from '../upstream/errors/upstream-rate-limited.error.js';
import { CollectionEmbedder } from './collection-embedder.js';
import { CollectionsService } from './collections.service.js';
import { MAX_TOP_K, SearchMode, SearchRequestDto, SearchResponseDto } from './dto/search.dto.js';
import { dimensionMismatch } from './errors/retrieval-errors.js';
import { KnownCollections, sameCollection } from './known-collections.js';
import { reciprocalRankFusion } from './rank-fusion.js';
import { parseFilter } from './store/metadata-filter.js';
import { ChunkHit, CollectionRecord, VectorStore } from './store/vector-store.js';

export interface SearchQuery {
  query: string;
  top_k?: number;
  filter?: unknown;
  mode?: SearchMode;
}

interface Asked {
  query: string;
  topK: number;
  filter: ReturnType<typeof parseFilter>;
  mode: SearchMode | undefined;
  /** Prefix of field names in errors (`retrieval.` for grounded chat). */
  param: string;
}

const DEFAULT_TOP_K = 5;

/** Each list fused by hybrid search is this many times top_k (at least HYBRID_MIN_CANDIDATES), so fusion has overlap to reward. */
const HYBRID_DEPTH = 4;
const HYBRID_MIN_CANDIDATES = 20;

/**
 * Whether a failure of the query's embedding leaves hybrid search its text list: the upstream failed,
 * timed out, refused for its rate limit, has its circuit open, is busy or not configured (with its
 * code, e.g. `upstream_timeout`). Not a dimension mismatch, a shutdown or a client that left.
 */
function embeddingUnavailable(error: unknown): error is ApiError {
  if (!(error instanceof ApiError) || error instanceof ShuttingDownError) return false;
  return (
    error.type === 'upstream_error' ||
    error.type === 'timeout_error' ||
    error instanceof UpstreamRateLimitedError ||
    error instanceof UpstreamPoolExhaustedError ||
    error instanceof NotConfiguredError
  );
}

/**
 * Searches a collection: `vector` (the query embedded in the collection's model, cosine over the
 * HNSW index), `text` (full-text, any stemmed term counting), or `hybrid` (both lists fused by
 * reciprocal rank). What other capabilities (grounded chat) use to find passages. The collection's
 * record comes from KnownCollections when it is there (no lookup statement before the query).
 */
@Injectable()
export class SearchService {
  constructor(
    private readonly store: VectorStore,
    private readonly collections: CollectionsService,
    private readonly embedder: CollectionEmbedder,
    private readonly known: KnownCollections,
    private readonly metrics: MetricsService,
  ) {}

  async search(name: string, request: SearchQuery | SearchRequestDto, ctx: RequestContext, param = ''): Promise<SearchResponseDto> {
    const query = typeof request.query === 'string' ? request.query.trim() : '';
    if (query.length === 0) throw new InvalidRequestError(`${param}query is empty`, { param: `${param}query`, code: 'empty_text' });
    const topK = request.top_k ?? DEFAULT_TOP_K;
    if (!Number.isInteger(topK) || topK < 1 || topK > MAX_TOP_K) throw new InvalidRequestError(`${param}top_k must be an integer from 1 to ${MAX_TOP_K}`, { param: `${param}top_k` });
    const filter = parseFilter(request.filter, `${param}filter`);
    const asked: Asked = { query, topK, filter, mode: request.mode ?? undefined, param };

    const remembered = this.known.get(name);
    if (!remembered) return this.searchIn(await this.lookUp(name, param, ctx), asked, ctx);
    let outcome: { response: SearchResponseDto } | { error: unknown };
    try {
      outcome = { response: await this.searchIn(remembered, asked, ctx) };
    } catch (error) {
      outcome = { error };
    }
    if ('response' in outcome && outcome.response.results.length > 0) return outcome.response;
    // Nothing found (or a failure) under a remembered record: the collection may have been deleted or
    // made again under a new id (by another instance). Unchanged, that was the answer.
    const current = await this.lookUp(name, param, ctx);
    if (!sameCollection(current, remembered)) return this.searchIn(current, asked, ctx);
    if ('error' in outcome) throw outcome.error;
    return outcome.response;
  }

  /** The collection's record from the store (404 if none, naming the path's `name` or grounded chat's field), remembered for the next search. */
  private async lookUp(name: string, param: string, ctx: RequestContext): Promise<CollectionRecord> {
    this.known.forget(name);
    const collection = await ctx.timeStore(() => this.collections.require(name, param ? `${param}collection` : undefined));
    this.known.remember(collection);
    return collection;
  }

  private async searchIn(collection: CollectionRecord, asked: Asked, ctx: RequestContext): Promise<SearchResponseDto> {
    const { query, topK, filter, param } = asked;
    const mode = asked.mode ?? (collection.model === null ? 'text' : 'hybrid');
    if (mode !== 'text' && collection.model === null) {
      throw new InvalidRequestError(`Collection '${collection.name}' is text-only (created with model: null): use mode "text"`, { param: `${param}mode`, code: 'text_only_collection' });
    }

    if (mode === 'text') return { mode, results: await ctx.timeStore(() => this.store.searchText(collection, query, topK, filter)) };
    const depth = mode === 'hybrid' ? Math.max(topK * HYBRID_DEPTH, HYBRID_MIN_CANDIDATES) : topK;
    const textHits = mode === 'hybrid' ? ctx.timeStore(() => this.store.searchText(collection, query, depth, filter)) : Promise.resolve([]);
    // Both lists are asked for at once; the text list does not wait for the embedding.
    textHits.catch(() => undefined);
    let vector: Awaited<ReturnType<SearchService['vectorSearch']>>;
    try {
      vector = await this.vectorSearch(collection, query, depth, filter, ctx);
    } catch (error) {
      // Hybrid with its embedding upstream down still answers, from the text list, and says so.
      if (mode !== 'hybrid' || !embeddingUnavailable(error)) throw error;
      const code = error.code ?? error.type;
      this.metrics.retrievalFallbacks.inc({ code });
      return { mode: 'text', results: reciprocalRankFusion([await textHits], topK), fallback: { from: 'hybrid', code, message: error.message } };
    }
    const { hits: vectorHits, usage } = vector;
    const response: SearchResponseDto =
      mode === 'vector' ? { mode, results: vectorHits } : { mode, results: reciprocalRankFusion([vectorHits, await textHits], topK) };
    if (usage) response.usage = usage;
    return response;
  }

  private async vectorSearch(
    collection: CollectionRecord,
    query: string,
    topK: number,
    filter: ReturnType<typeof parseFilter>,
    ctx: RequestContext,
  ): Promise<{ hits: ChunkHit[]; usage?: SearchResponseDto['usage'] }> {
    // The query goes to the upstream at once (no coalescing window) unless others of its model are in flight.
    const embedded = await this.embedder.embed(collection, [query], ctx);
    if (collection.dimensions !== null && embedded.dimensions !== collection.dimensions) {
      throw dimensionMismatch(collection.name, collection.dimensions, embedded.dimensions ?? 0);
    }
    const hits = await ctx.timeStore(() => this.store.searchVector(collection, embedded.vectors[0], topK, filter));
    return embedded.usage ? { hits, usage: embedded.usage } : { hits };
  }
}
