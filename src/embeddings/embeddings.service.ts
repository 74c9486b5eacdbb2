import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { MicroBatcher } from '../common/batching/micro-batcher.js';
import { RequestContext } from '../common/http/request-context.js';
import { checkTexts, TextLimits } from '../common/validation/check-texts.js';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { EmbeddingCache } from './embedding.cache.js';
import { Embedded, EmbeddingSpec, specKey } from './embedding.types.js';
import { EmbeddingsUpstream } from './embeddings.upstream.js';

export interface EmbedRequest {
  texts: readonly unknown[];
  model?: string;
  dimensions?: number;
  /** The request field the texts came from, for error messages (`texts`, `input`). */
  field?: string;
}

export interface EmbedResult {
  embeddings: number[][];
  model: string;
  /** Tokens of the inputs as the upstream counted them (cached texts included); absent if it did not say. */
  usage?: { prompt_tokens: number; total_tokens: number };
}

/**
 * Embeds a batch of texts with as little upstream work as possible: duplicates in the call are
 * embedded once, the LRU cache answers texts seen before, and the rest go through the shared
 * batcher (batches of EMBEDDINGS_BATCH_SIZE, EMBEDDINGS_CONCURRENCY in flight, coalesced across
 * concurrent calls). Answers in input order.
 */
@Injectable()
export class EmbeddingsService implements OnModuleDestroy {
  private readonly batcher: MicroBatcher<EmbeddingSpec, Embedded>;
  private readonly limits: TextLimits;

  constructor(
    private readonly config: AppConfig,
    private readonly cache: EmbeddingCache,
    private readonly upstream: EmbeddingsUpstream,
    private readonly metrics: MetricsService,
  ) {
    const { batchSize, concurrency, coalesceMs, maxInputs, maxTextChars } = config.embeddings;
    this.limits = { maxInputs, maxTextChars, maxInputsKey: 'EMBEDDINGS_MAX_INPUTS', maxTextCharsKey: 'EMBEDDINGS_MAX_TEXT_CHARS' };
    this.batcher = new MicroBatcher({ batchSize, concurrency, coalesceMs }, specKey, (spec, texts, ctx) => this.embedBatch(spec, texts, ctx));
  }

  onModuleDestroy(): void {
    this.cache.clear();
  }

  async embed(request: EmbedRequest, ctx: RequestContext): Promise<EmbedResult> {
    const texts = checkTexts(request.texts, this.limits, request.field);
    const spec: EmbeddingSpec = { model: request.model ?? this.config.embeddings.defaultModel };
    if (request.dimensions !== undefined) spec.dimensions = request.dimensions;

    // One slot per distinct text; cache hits fill theirs now, the rest go to the batcher.
    const slotOf = new Map<string, number>();
    const slots: Embedded[] = [];
    const misses: string[] = [];
    const missSlots: number[] = [];
    for (const text of texts) {
      if (slotOf.has(text)) continue;
      const slot = slotOf.size;
      slotOf.set(text, slot);
      const hit = this.cache.get(spec, text);
      if (hit) slots[slot] = hit;
      else {
        misses.push(text);
        missSlots.push(slot);
      }
    }
    if (this.cache.enabled) {
      this.metrics.embeddingsCache.inc({ result: 'hit' }, slotOf.size - misses.length);
      this.metrics.embeddingsCache.inc({ result: 'miss' }, misses.length);
    }
    if (misses.length > 0) {
      const fetched = await this.fetch(spec, misses, ctx);
      fetched.forEach((embedded, i) => (slots[missSlots[i]] = embedded));
    }

    let tokens: number | undefined = 0;
    const embeddings = texts.map((text) => {
      const { vector, tokens: share } = slots[slotOf.get(text)!];
      tokens = share === undefined || tokens === undefined ? undefined : tokens + share;
      return vector;
    });
    const result: EmbedResult = { embeddings, model: spec.model };
    if (tokens !== undefined) {
      const total = Math.round(tokens);
      result.usage = { prompt_tokens: total, total_tokens: total };
    }
    return result;
  }

  private async fetch(spec: EmbeddingSpec, texts: string[], ctx: RequestContext): Promise<Embedded[]> {
    if (ctx.cancelled) throw RequestContext.cancellationError(ctx.cancelled);
    const started = performance.now();
    const ticket = this.batcher.submit(spec, texts);
    // A client that leaves takes its not-yet-sent texts out of the queue.
    const unsubscribe = ctx.onCancel((reason) => ticket.release(RequestContext.cancellationError(reason)));
    try {
      return await ticket.done;
    } catch (error) {
      // One failed batch fails the call: the call's other queued texts are not needed any more.
      ticket.release(error);
      throw error;
    } finally {
      unsubscribe();
      ctx.upstreamMs += performance.now() - started;
    }
  }

  /** One upstream batch; what it brings back is cached even if the caller has gone meanwhile. */
  private async embedBatch(spec: EmbeddingSpec, texts: string[], ctx: RequestContext): Promise<Embedded[]> {
    this.metrics.embeddingsUpstreamCalls.inc();
    this.metrics.embeddingsBatchSize.observe(texts.length);
    const embedded = await this.upstream.embed(spec, texts, ctx);
    embedded.forEach((value, i) => this.cache.set(spec, texts[i], value));
    return embedded;
  }
}
