import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { MicroBatcher, QueueFullError } from '../common/batching/micro-batcher.js';
import { InternalError, ModelUnavailableError, OverloadedError } from '../common/errors/index.js';
import { RequestContext } from '../common/http/request-context.js';
import { checkText, checkTexts, TextLimits } from '../common/validation/check-texts.js';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ClassifierPool } from './classifier.pool.js';
import { Classification, NO_MODEL_PREFIX } from './classifier.protocol.js';

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
 * a time); at most CLASSIFIER_MAX_QUEUE texts wait, beyond that callers get 503 at once. A caller that
 * leaves takes its queued texts out. The only user of the worker pool.
 */
@Injectable()
export class ClassifierService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ClassifierService.name);
  private readonly batcher: MicroBatcher<string, Classification>;
  private readonly limits: TextLimits;
  private readonly maxQueue: number;
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
    const { maxBatch, batchWaitMs, maxQueue, maxInputs, maxTextChars } = config.classifier;
    this.maxQueue = maxQueue;
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
    let ticket;
    try {
      ticket = this.batcher.submit(model, texts);
    } catch (error) {
      throw error instanceof QueueFullError ? this.queueFull() : error;
    }
    const unsubscribe = ctx.onCancel((reason) => ticket.release(RequestContext.cancellationError(reason)));
    try {
      return { results: await ticket.done, model };
    } finally {
      unsubscribe();
    }
  }

  /**
   * The refusal a new call gets before its body is even read (classify-admission.ts): the queue has
   * no room for one more text. Undefined while there is room.
   */
  admissionError(): OverloadedError | undefined {
    return this.batcher.queued >= this.maxQueue ? this.queueFull() : undefined;
  }

  private queueFull(): OverloadedError {
    this.metrics.shed.inc({ reason: 'classifier_queue' });
    return new OverloadedError(`The classifier queue is full (${this.maxQueue} texts wait at most); retry shortly`, {
      code: 'queue_full',
      retryAfterSeconds: 1,
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
    try {
      return await this.pool.classify(texts);
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
