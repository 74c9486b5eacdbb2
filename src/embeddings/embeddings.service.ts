import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { MicroBatcher } from '../common/batching/micro-batcher.js';
import { answerBody } from '../common/buffers/scratch-buffers.js';
import { RequestContext } from '../common/http/request-context.js';
import { TimeSlice } from '../common/scheduling/time-slice.js';
import { checkTexts, TextLimits } from '../common/validation/check-texts.js';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { EmbeddingSharedTier } from './embedding-shared.tier.js';
import { EmbeddingCache } from './embedding.cache.js';
import { EmbeddingSpec, specKey } from './embedding.types.js';
import { EmbeddingsUpstream, WireFormat } from './embeddings.upstream.js';
import { StoredVector } from './stored-vector.js';
import { nativeAnswer } from './wire/embeddings-answer.writer.js';

export interface EmbedRequest {
  texts: readonly unknown[];
  model?: string;
  dimensions?: number;
  /** The request field the texts came from, for error messages (`texts`, `input`). */
  field?: string;
  /** The form the caller will read the vectors in (default float): that form is made ready in every vector. */
  format?: WireFormat;
}

export interface EmbedResult {
  /** One per input, in input order, holding the requested form (`jsonBytes()` for float, `base64Bytes()` for base64). */
  embeddings: StoredVector[];
  model: string;
  /** Tokens of the inputs as the upstream counted them (cached texts included); absent if it did not say. */
  usage?: { prompt_tokens: number; total_tokens: number };
}

/** One lane of the batcher: an embedding space and the wire format its upstream requests use. */
interface BatchSpec {
  spec: EmbeddingSpec;
  wire: WireFormat;
}

/**
 * Embeds a batch of texts with as little upstream work as possible: duplicates in the call are
 * embedded once, the LRU cache answers texts seen before, and the rest go through the shared
 * batcher (batches of EMBEDDINGS_BATCH_SIZE, EMBEDDINGS_CONCURRENCY in flight, coalesced across
 * concurrent calls). Answers in input order, as bytes (StoredVector), never as parsed numbers.
 */
@Injectable()
export class EmbeddingsService implements OnModuleDestroy {
  private readonly batcher: MicroBatcher<BatchSpec, StoredVector>;
  private readonly limits: TextLimits;

  constructor(
    private readonly config: AppConfig,
    private readonly cache: EmbeddingCache,
    private readonly shared: EmbeddingSharedTier,
    private readonly upstream: EmbeddingsUpstream,
    private readonly metrics: MetricsService,
  ) {
    const { batchSize, concurrency, coalesceMs, coalesceWhenIdle, maxInputs, maxTextChars } = config.embeddings;
    this.limits = { maxInputs, maxTextChars, maxInputsKey: 'EMBEDDINGS_MAX_INPUTS', maxTextCharsKey: 'EMBEDDINGS_MAX_TEXT_CHARS' };
    // By default a call that finds nothing of its lane in flight goes upstream at once; the window batches calls behind a busy one.
    // A failed batch does not abort the call's other batches in flight: what they bring back is cached, so a retry finds it.
    this.batcher = new MicroBatcher(
      { batchSize, concurrency, coalesceMs, coalesceWhenIdle, finishInFlightOnFailure: true },
      (lane) => `${specKey(lane.spec)}|${lane.wire}`,
      (lane, texts, ctx) => this.embedBatch(lane, texts, ctx),
    );
  }

  onModuleDestroy(): void {
    this.cache.clear();
  }

  /** The `/embeddings` answer, serialised: `{embeddings, model, usage}`. */
  answer(request: EmbedRequest, ctx: RequestContext): Promise<Buffer> {
    return this.embed(request, ctx, (result) => answerBody(nativeAnswer(result), ctx));
  }

  /**
   * Embeds the texts and hands the result to `read`, which must be done with the vectors when it
   * returns (or its promise settles): they are the cache's own, whose memory is reused once they are
   * evicted and nobody is reading (vector-arena.ts). Keep what you need as your own copy (a string,
   * a serialised answer). Answers what `read` answers.
   */
  async embed<T>(request: EmbedRequest, ctx: RequestContext, read: (result: EmbedResult) => T | Promise<T>): Promise<T> {
    const texts = checkTexts(request.texts, this.limits, request.field);
    const endLease = this.cache.lease();
    try {
      return await read(await this.embedLeased(texts, request, ctx));
    } finally {
      endLease();
    }
  }

  private async embedLeased(texts: string[], request: EmbedRequest, ctx: RequestContext): Promise<EmbedResult> {
    const spec: EmbeddingSpec = { model: request.model ?? this.config.embeddings.defaultModel };
    if (request.dimensions !== undefined) spec.dimensions = request.dimensions;
    const format = request.format ?? 'float';

    // One slot per distinct text; cache hits fill theirs now, the rest go to the batcher.
    const slotOf = new Map<string, number>();
    const slots: StoredVector[] = [];
    const slotTexts: string[] = [];
    const misses: string[] = [];
    const missSlots: number[] = [];
    for (const text of texts) {
      if (slotOf.has(text)) continue;
      const slot = slotOf.size;
      slotOf.set(text, slot);
      slotTexts.push(text);
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
    if (misses.length > 0 && this.shared.enabled) await this.fromSharedTier(spec, misses, missSlots, slots);
    if (misses.length > 0) {
      const fetched = await this.fetch({ spec, wire: this.upstream.wireFor(format) }, misses, ctx);
      fetched.forEach((vector, i) => (slots[missSlots[i]] = vector));
    }
    await this.makeReady(spec, slots, slotTexts, format);

    let tokens: number | undefined = 0;
    const embeddings = texts.map((text) => {
      const vector = slots[slotOf.get(text)!];
      const share = vector.tokens;
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

  /**
   * Fills the slots the shared tier (Redis) can answer, keeps those vectors in the LRU too, and
   * leaves in `misses` / `missSlots` (edited in place) only what the upstream must embed.
   */
  private async fromSharedTier(spec: EmbeddingSpec, misses: string[], missSlots: number[], slots: StoredVector[]): Promise<void> {
    const found = await this.shared.getMany(spec, misses);
    let kept = 0;
    for (let i = 0; i < misses.length; i++) {
      const vector = found[i];
      if (vector === undefined) {
        misses[kept] = misses[i];
        missSlots[kept] = missSlots[i];
        kept++;
      } else {
        slots[missSlots[i]] = this.cache.store(spec, misses[i], vector);
      }
    }
    misses.length = kept;
    missSlots.length = kept;
  }

  /**
   * Gives every vector the form the caller reads (a float answer for a vector the upstream sent as
   * base64, or the other way round), in slices of the event loop; the cache keeps the vector with
   * both forms from then on, so the conversion is paid once per text.
   */
  private async makeReady(spec: EmbeddingSpec, slots: StoredVector[], texts: string[], format: WireFormat): Promise<void> {
    const slice = new TimeSlice();
    for (let i = 0; i < slots.length; i++) {
      const vector = slots[i];
      if (format === 'float' ? vector.hasJson : vector.hasBase64) continue;
      if (slice.spent()) await slice.pause();
      slots[i] = this.cache.store(spec, texts[i], vector.withBothForms());
    }
  }

  private async fetch(lane: BatchSpec, texts: string[], ctx: RequestContext): Promise<StoredVector[]> {
    if (ctx.cancelled) throw RequestContext.cancellationError(ctx.cancelled);
    const started = performance.now();
    const ticket = this.batcher.submit(lane, texts);
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

  /**
   * One upstream batch; what it brings back is cached even if the caller has gone meanwhile. The
   * vectors are copied out of the answer (into the cache) while it is being read, under a lease of
   * their own until the shared tier has encoded them (a batch larger than the cache evicts its
   * first vectors while storing its last); the callers waiting for them hold leases from before
   * they were made. No lease is held while the upstream answers.
   */
  private embedBatch(lane: BatchSpec, texts: string[], ctx: RequestContext): Promise<StoredVector[]> {
    this.metrics.embeddingsUpstreamCalls.inc();
    this.metrics.embeddingsBatchSize.observe(texts.length);
    return this.upstream.embed(lane.spec, texts, lane.wire, ctx, (vectors) => {
      const endLease = this.cache.lease();
      try {
        const stored = vectors.map((vector, i) => this.cache.store(lane.spec, texts[i], vector));
        this.shared.setMany(lane.spec, texts, stored);
        return stored;
      } finally {
        endLease();
      }
    });
  }
}
