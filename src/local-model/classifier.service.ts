import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { MicroBatcher, QueueFullError } from '../common/batching/micro-batcher.js';
import { InternalError, ModelUnavailableError, OverloadedError } from '../common/errors/index.js';
import { RequestContext } from '../common/http/request-context.js';
import { checkText, checkTexts, TextLimits } from '../common/validation/check-texts.js';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ClassifierPool } from './classifier.pool.js';
import { Classification, NO_MODEL_PREFIX } from './classifier.protocol.js';
import { QueueWaitEstimate } from './queue-wait.js';

export type ModelState =
  | { state: 'loading' }
  | { state: 'ready'; model: string; fallback: boolean; failures: Array<{ model: string; reason: string }> }
  | { state: 'unavailable'; reason: string };

export interface ClassifyResult {
  results: Classification[];
  model: string;
}

/**
 * Sentiment from the local model: texts from concurrent requests are grouped into micro-batches
 * (up to CLASSIFIER_MAX_BATCH texts, CLASSIFIER_BATCH_WAIT_MS to gather them, one batch per worker at
 * a time); at most CLASSIFIER_MAX_QUEUE texts wait, and a new text is not queued behind more than
 * CLASSIFIER_MAX_QUEUE_WAIT_MS of work: beyond either, callers get 503 at once. A caller that leaves
 * takes its queued texts out. The only user of the worker pool.
 */
@Injectable()
export class ClassifierService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ClassifierService.name);
  private readonly batcher: MicroBatcher<string, Classification>;
  private readonly limits: TextLimits;
  private readonly maxQueue: number;
  private readonly maxQueueWaitMs: number;
  /** Texts always admitted by the bound in time: the next full batch of every worker. */
  private readonly nextBatches: number;
  private readonly wait: QueueWaitEstimate;
  private current: ModelState = { state: 'loading' };
  private readonly retryMs: number;
  private retryTimer?: NodeJS.Timeout;
  private retries = 0;
  private stopped = false;

  constructor(
    private readonly pool: ClassifierPool,
    config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    const { maxBatch, batchWaitMs, maxQueue, maxQueueWaitMs, maxInputs, maxTextChars } = config.classifier;
    this.maxQueue = maxQueue;
    this.maxQueueWaitMs = maxQueueWaitMs;
    this.nextBatches = maxBatch * pool.threads;
    this.wait = new QueueWaitEstimate(maxBatch, pool.threads);
    this.retryMs = config.localModel.retryMs;
    this.limits = { maxInputs, maxTextChars, maxInputsKey: 'CLASSIFIER_MAX_INPUTS', maxTextCharsKey: 'CLASSIFIER_MAX_TEXT_CHARS' };
    this.batcher = new MicroBatcher<string, Classification>(
      // One batch per worker at a time: the pool's own queue stays empty, so ours is the only one
      // (bounded, and a leaving caller can still take its texts out).
      { batchSize: maxBatch, concurrency: pool.threads, coalesceMs: batchWaitMs, maxQueued: maxQueue },
      (model) => model,
      (_model, texts) => this.runBatch(texts),
    );
    metrics.gauge('ballast_classifier_queue_depth', 'Texts waiting for a classifier worker', () => this.batcher.queued);
    metrics.gauge('ballast_classifier_batches_in_flight', 'Batches being classified', () => this.batcher.batchesInFlight);
    metrics.gauge('ballast_classifier_queue_wait_seconds', 'Expected wait of a text queued now (0 until a full batch has been timed)', () => (this.expectedWaitMs() ?? 0) / 1000);
    metrics.gauge('ballast_classifier_dropped_texts', 'Queued texts dropped because their callers left (running total)', () => this.batcher.stats.dropped);
  }

  /** Loading the model must not hold up the boot: /ready says `loading` meanwhile. */
  onApplicationBootstrap(): void {
    void this.load();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
  }

  private async load(): Promise<void> {
    try {
      const loaded = await this.pool.status();
      if (this.stopped) return;
      this.current = { state: 'ready', ...loaded };
      for (const failure of loaded.failures) this.logger.warn(`Model ${failure.model} could not be loaded: ${failure.reason}`);
      this.logger.log(`Classifier ready: ${loaded.model}${loaded.fallback ? ' (fallback)' : ''} in ${this.pool.threads} worker(s)`);
    } catch (error) {
      if (this.stopped) return;
      const message = error instanceof Error ? error.message : String(error);
      const reason = message.startsWith(NO_MODEL_PREFIX) ? message : `The classifier workers failed to start: ${message}`;
      this.current = { state: 'unavailable', reason };
      const delay = this.nextRetryDelay();
      this.logger.error(delay > 0 ? `${reason} (trying again in ${delay} ms)` : reason);
      this.scheduleRetry(delay);
    }
  }

  /**
   * LOCAL_MODEL_RETRY_MS, doubling with each failed retry up to ten times that (5 min by default), so
   * a server left without a model on purpose does not restart its workers every 30 s forever.
   */
  private nextRetryDelay(): number {
    if (this.retryMs <= 0) return 0;
    return Math.min(this.retryMs * 2 ** this.retries++, this.retryMs * 10);
  }

  /** No model could be loaded: after `delay`, fresh workers try the list again. */
  private scheduleRetry(delay: number): void {
    if (delay <= 0 || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.pool.restart().then(
        () => (this.stopped ? undefined : this.load()),
        (error: unknown) => {
          this.logger.error(`Restarting the classifier workers failed: ${error instanceof Error ? error.message : String(error)}`);
          this.scheduleRetry(this.nextRetryDelay());
        },
      );
    }, delay);
    // A pending retry must not keep the process alive on its own.
    this.retryTimer.unref();
  }

  get state(): ModelState {
    return this.current;
  }

  get queued(): number {
    return this.batcher.queued;
  }

  /** Batches sent, texts classified, queued texts dropped (callers left), failed batches. */
  get stats(): Readonly<MicroBatcher<string, Classification>['stats']> {
    return this.batcher.stats;
  }

  get batchesInFlight(): number {
    return this.batcher.batchesInFlight;
  }

  /** How long a text queued now would wait for a worker, in ms; undefined until a full batch has been timed. */
  expectedWaitMs(): number | undefined {
    return this.wait.waitMs(this.batcher.queued);
  }

  async classifyOne(text: unknown, ctx: RequestContext): Promise<Classification & { model: string }> {
    const checked = checkText(text, this.limits, 'text');
    const { results, model } = await this.classify([checked], ctx);
    return { ...results[0], model };
  }

  async classifyMany(texts: readonly unknown[], ctx: RequestContext): Promise<ClassifyResult> {
    return this.classify(checkTexts(texts, this.limits, 'texts'), ctx);
  }

  private async classify(texts: string[], ctx: RequestContext): Promise<ClassifyResult> {
    const model = this.servingModel();
    if (ctx.cancelled) throw RequestContext.cancellationError(ctx.cancelled);
    const refusal = this.admissionError();
    if (refusal) throw refusal;
    let ticket;
    try {
      ticket = this.batcher.submit(model, texts);
    } catch (error) {
      throw error instanceof QueueFullError ? this.queueFull(`the queue has no room for ${texts.length} more texts (${this.maxQueue} wait at most)`) : error;
    }
    const unsubscribe = ctx.onCancel((reason) => ticket.release(RequestContext.cancellationError(reason)));
    try {
      return { results: await ticket.done, model };
    } finally {
      unsubscribe();
    }
  }

  /**
   * The refusal a new call gets, before its body is even read (classify-admission.ts) and again when
   * it submits. Undefined while there is room.
   */
  admissionError(): OverloadedError | undefined {
    const why = this.overloaded();
    return why === undefined ? undefined : this.queueFull(why);
  }

  /**
   * Why a new text would be refused now, if it would: the queue has no room for one more text, or a
   * text queued now would wait longer than CLASSIFIER_MAX_QUEUE_WAIT_MS. A call's own texts do not
   * count towards the wait (a big batch on an idle queue is served), only those ahead of it. The
   * bound in time never refuses a text that fits in the next full batch of some worker: that much
   * must wait so that no worker idles between batches, and a model slower than the bound per batch
   * would otherwise be held to part-filled batches.
   */
  overloaded(): string | undefined {
    const queued = this.batcher.queued;
    if (queued >= this.maxQueue) return `the queue is full (${this.maxQueue} texts wait at most)`;
    if (this.maxQueueWaitMs === 0 || queued < this.nextBatches) return undefined;
    const waitMs = this.wait.waitMs(queued);
    if (waitMs === undefined || waitMs <= this.maxQueueWaitMs) return undefined;
    return `a text queued now would wait ~${Math.round(waitMs)} ms (CLASSIFIER_MAX_QUEUE_WAIT_MS is ${this.maxQueueWaitMs})`;
  }

  /** 503 with Retry-After: the time the queue now holds (at least 1 s, at most 60), or 1 s with no estimate yet. */
  private queueFull(why: string): OverloadedError {
    this.metrics.shed.inc({ reason: 'classifier_queue' });
    const waitMs = this.expectedWaitMs() ?? 0;
    return new OverloadedError(`The classifier is overloaded: ${why}; retry shortly`, {
      code: 'queue_full',
      retryAfterSeconds: Math.min(60, Math.max(1, Math.ceil(waitMs / 1000))),
    });
  }

  private servingModel(): string {
    const current = this.current;
    if (current.state === 'ready') return current.model;
    if (current.state === 'loading') {
      throw new ModelUnavailableError('The classifier model is still loading; retry shortly', { code: 'model_loading', retryAfterSeconds: 2 });
    }
    throw new ModelUnavailableError(current.reason, { code: 'model_unavailable' });
  }

  private async runBatch(texts: string[]): Promise<Classification[]> {
    this.metrics.classifierBatchSize.observe(texts.length);
    const started = performance.now();
    try {
      const results = await this.pool.classify(texts);
      this.wait.record(texts.length, performance.now() - started);
      return results;
    } catch (error) {
      throw this.batchFailure(error);
    }
  }

  /** A dead worker (replaced by the pool) is worth a retry; a model that throws is our fault. */
  private batchFailure(error: unknown): Error {
    const message = error instanceof Error ? error.message : String(error);
    if (/worker.*(exit|terminat)|exited/i.test(message)) {
      this.logger.error(`A classifier worker died during a batch: ${message}`);
      return new ModelUnavailableError('The classifier worker running this batch stopped; it has been replaced, retry', {
        code: 'worker_crashed',
        retryAfterSeconds: 1,
      });
    }
    this.logger.error(`The model failed on a batch: ${message}`);
    return new InternalError('The model failed on this batch');
  }
}
