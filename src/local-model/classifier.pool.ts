import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { basename, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { PACKAGE_ROOT } from '../config/package-root.js';
import type { Classification, ClassifierTask, ClassifierWorkerData, LoadedModel, ModelCandidate } from './classifier.protocol.js';

const here = fileURLToPath(import.meta.url);

/** The longest shutdown or restart waits for workers still loading their model (see `settle`). */
const SETTLE_MS = 5_000;
/**
 * Piscina runs JavaScript: the compiled worker next to this file in dist/, or, when this file is
 * the TypeScript source (jest), the one `npm run build` put in dist/.
 */
export const WORKER_FILE = here.endsWith('.js')
  ? join(dirname(here), 'classifier.worker.js')
  : resolve(PACKAGE_ROOT, 'dist', 'local-model', 'classifier.worker.js');

/**
 * The worker pool for the local model, owned by Nest: made at start-up with CLASSIFIER_THREADS
 * workers (each loads the model once), destroyed (awaited) at shutdown. A worker that dies is
 * replaced by Piscina; its task fails, nothing else does.
 */
@Injectable()
export class ClassifierPool implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ClassifierPool.name);
  private pool?: Piscina<ClassifierTask, LoadedModel | Classification[]>;
  private created = 0;
  /** Workers started on purpose (at start-up and by `restart()`); the rest replaced dead ones. */
  private started = 0;
  private closed = false;

  constructor(
    private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    metrics.gauge('ballast_classifier_worker_restarts', 'Classifier workers started to replace ones that died (running total)', () => this.restarts);
    // Piscina's own histograms (ms): time tasks waited in its queue, and ran in a worker.
    const quantiles = (pick: 'runTime' | 'waitTime') => () => {
      const h = this.pool?.histogram[pick];
      if (!h) return [];
      return [
        { labels: { quantile: '0.5' }, value: finite(h.p50) },
        { labels: { quantile: '0.99' }, value: finite(h.p99) },
        { labels: { quantile: 'mean' }, value: finite(h.mean) },
      ];
    };
    metrics.gauge('ballast_classifier_run_time_ms', 'Classifier batch run time in a worker (Piscina histogram)', quantiles('runTime'), ['quantile']);
    metrics.gauge('ballast_classifier_wait_time_ms', 'Classifier batch wait in the pool queue (Piscina histogram)', quantiles('waitTime'), ['quantile']);
  }

  onModuleInit(): void {
    this.start();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    await this.settle(pool);
    await pool?.destroy();
  }

  /**
   * A fresh set of workers, each loading the model again (used while no model could be loaded, to
   * try again). Tasks running on the old workers fail. No-op once shut down.
   */
  async restart(): Promise<void> {
    if (this.closed) return;
    const old = this.pool;
    this.pool = undefined;
    await this.settle(old);
    await old?.destroy();
    if (!this.closed) this.start();
  }

  /**
   * Lets workers finish loading (or failing to load) their model before they are terminated:
   * terminating a thread while it is inside onnxruntime's native start-up can abort the whole
   * process (a C++ exception escaping the addon's teardown). One status task per worker, at most
   * SETTLE_MS; a loaded worker answers at once.
   */
  private async settle(pool: ClassifierPool['pool']): Promise<void> {
    if (!pool) return;
    const loaded = Array.from({ length: this.threads }, () => pool.run({ op: 'status' }).catch(() => undefined));
    const timeout = new AbortController();
    await Promise.race([Promise.all(loaded), sleep(SETTLE_MS, undefined, { signal: timeout.signal }).catch(() => undefined)]);
    timeout.abort();
  }

  private start(): void {
    const { threads } = this.config.classifier;
    this.started += threads;
    const workerData: ClassifierWorkerData = {
      nice: this.config.classifier.nice,
      candidates: this.candidates(),
      loadLock: new Int32Array(new SharedArrayBuffer(4)),
    };
    this.pool = new Piscina({
      filename: WORKER_FILE,
      minThreads: threads,
      maxThreads: threads,
      // Workers hold the model: never retire an idle one.
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: 1,
      workerData,
    });
    this.pool.on('workerCreate', () => this.created++);
    // Errors not tied to a task (a worker failing at start-up); tasks get their own rejections.
    this.pool.on('error', (error: unknown) => this.logger.error(`classifier worker error: ${String(error)}`));
  }

  get threads(): number {
    return this.config.classifier.threads;
  }

  /** Workers started beyond those started on purpose: each one replaced a worker that died. */
  get restarts(): number {
    return Math.max(0, this.created - this.started);
  }

  /** Resolves when a worker has loaded a model (which one, and why the ones before it failed). */
  status(): Promise<LoadedModel> {
    return this.run({ op: 'status' }) as Promise<LoadedModel>;
  }

  classify(texts: string[]): Promise<Classification[]> {
    return this.run({ op: 'classify', texts }) as Promise<Classification[]>;
  }

  /** Diagnostics (tests): make the worker that takes this task die mid-task. */
  crashOneWorker(): Promise<unknown> {
    return this.run({ op: 'crash' });
  }

  private run(task: ClassifierTask): Promise<LoadedModel | Classification[]> {
    if (!this.pool) return Promise.reject(new Error('ClassifierPool used before start-up or after shutdown'));
    return this.pool.run(task);
  }

  private candidates(): ModelCandidate[] {
    const { model, localModelPath, allowRemote, cacheDir, fallbackPath } = this.config.localModel;
    const list: ModelCandidate[] = [{ name: model, localModelPath, allowRemote, cacheDir, fallback: false }];
    if (fallbackPath) {
      list.push({ name: basename(fallbackPath), localModelPath: dirname(fallbackPath), allowRemote: false, cacheDir, fallback: true });
    }
    return list;
  }
}

function finite(value: number): number {
  return Number.isFinite(value) ? value : 0;
}
