import { jest } from '@jest/globals';
import { ApiError } from '../common/errors/index.js';
import { RequestContext } from '../common/http/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { validateEnvironment } from '../config/environment.loader.js';
import type { ClassifierPool } from './classifier.pool.js';
import type { Classification, LoadedModel } from './classifier.protocol.js';
import { ClassifierService } from './classifier.service.js';
import { MetricsService } from '../metrics/metrics.service.js';

/** A pool whose answers the test decides. */
class FakePool {
  threads = 1;
  restarts = 0;
  statusResult: Promise<LoadedModel> = new Promise(() => undefined);
  classifyImpl: (texts: string[]) => Promise<Classification[]> = async (texts) => texts.map(() => ({ label: 'POSITIVE', score: 0.9 }));
  restartedAt: number[] = [];
  status() {
    return this.statusResult;
  }
  async restart() {
    this.restartedAt.push(performance.now());
  }
  classify(texts: string[]) {
    return this.classifyImpl(texts);
  }
}

const flush = () => new Promise((r) => setImmediate(r));

async function errorOf(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    return error as ApiError;
  }
  throw new Error('expected a rejection');
}

function serviceWith(pool: FakePool, env: Record<string, string> = {}): ClassifierService {
  const config = new AppConfig(validateEnvironment({ CLASSIFIER_BATCH_WAIT_MS: '0', ...env }));
  const service = new ClassifierService(pool as unknown as ClassifierPool, config, new MetricsService());
  service.onApplicationBootstrap();
  return service;
}

describe(ClassifierService.name, () => {
  it('answers 503 model_loading with Retry-After while the model loads', async () => {
    const service = serviceWith(new FakePool());
    expect(service.state).toEqual({ state: 'loading' });
    const error = await errorOf(service.classifyOne('hi', RequestContext.detached()));
    expect(error.status).toBe(503);
    expect(error.code).toBe('model_loading');
    expect(error.headers['retry-after']).toBe('2');
  });

  it('retries a pool that loaded no model after LOCAL_MODEL_RETRY_MS, doubling up to 10x, and stops at shutdown', async () => {
    // Fake timers (performance.now included): the schedule is checked exactly, whatever the machine's load.
    jest.useFakeTimers();
    try {
      const pool = new FakePool();
      pool.statusResult = Promise.reject(new Error('No model could be loaded: m: file was not found locally'));
      const started = performance.now();
      const service = serviceWith(pool, { LOCAL_MODEL_RETRY_MS: '20' });
      await jest.advanceTimersByTimeAsync(900);
      // Gaps 20, 40, 80, 160, then capped at 10x = 200.
      expect(pool.restartedAt.map((t) => t - started)).toEqual([20, 60, 140, 300, 500, 700, 900]);
      service.onApplicationShutdown();
      await jest.advanceTimersByTimeAsync(1000);
      expect(pool.restartedAt).toHaveLength(7);
      expect(service.state.state).toBe('unavailable');
    } finally {
      jest.useRealTimers();
    }
  });

  it('LOCAL_MODEL_RETRY_MS=0 never retries', async () => {
    const pool = new FakePool();
    pool.statusResult = Promise.reject(new Error('No model could be loaded: m: file was not found locally'));
    const service = serviceWith(pool, { LOCAL_MODEL_RETRY_MS: '0' });
    await new Promise((r) => setTimeout(r, 100));
    expect(pool.restartedAt).toEqual([]);
    service.onApplicationShutdown();
  });

  it('reports a pool that cannot load any model as unavailable, with the reason', async () => {
    const pool = new FakePool();
    pool.statusResult = Promise.reject(new Error('No model could be loaded: m: file was not found locally'));
    const service = serviceWith(pool);
    await flush();
    expect(service.state).toEqual({ state: 'unavailable', reason: 'No model could be loaded: m: file was not found locally' });
    const error = await errorOf(service.classifyOne('hi', RequestContext.detached()));
    expect(error.status).toBe(503);
    expect(error.message).toMatch(/file was not found locally/);
  });

  describe('once ready', () => {
    let pool: FakePool;
    let service: ClassifierService;
    beforeEach(async () => {
      pool = new FakePool();
      pool.statusResult = Promise.resolve({ model: 'm', fallback: false, failures: [] });
      service = serviceWith(pool);
      await flush();
    });

    it('a worker that died during the batch → 503 worker_crashed with Retry-After', async () => {
      pool.classifyImpl = () => Promise.reject(new Error('worker exited with code: 1'));
      const error = await errorOf(service.classifyMany(['a', 'b'], RequestContext.detached()));
      expect(error.status).toBe(503);
      expect(error.code).toBe('worker_crashed');
      expect(error.headers['retry-after']).toBe('1');
    });

    it('a model that throws → 500 for that batch only; the next batch is fine', async () => {
      pool.classifyImpl = () => Promise.reject(new TypeError('tensor shape mismatch'));
      const error = await errorOf(service.classifyOne('a', RequestContext.detached()));
      expect(error.status).toBe(500);
      expect(error.message).toBe('The model failed on this batch');
      pool.classifyImpl = async (texts) => texts.map(() => ({ label: 'NEGATIVE', score: 0.8 }));
      await expect(service.classifyOne('b', RequestContext.detached())).resolves.toEqual({ label: 'NEGATIVE', score: 0.8, model: 'm' });
    });
  });

  describe('CLASSIFIER_MAX_QUEUE_WAIT_MS', () => {
    /**
     * A pool whose batches take 100 ms per text until `hold` is set; then they wait for `release()`,
     * which also makes every later batch answer at once.
     */
    function slowPool(): FakePool & { hold: boolean; release: () => void } {
      const pool = new FakePool() as FakePool & { hold: boolean; release: () => void };
      pool.statusResult = Promise.resolve({ model: 'm', fallback: false, failures: [] });
      pool.hold = false;
      const held: Array<() => void> = [];
      pool.release = () => {
        pool.classifyImpl = async (texts) => texts.map(() => ({ label: 'POSITIVE', score: 0.9 }));
        held.splice(0).forEach((go) => go());
      };
      pool.classifyImpl = (texts) =>
        new Promise((resolve) => {
          const answer = () => resolve(texts.map(() => ({ label: 'POSITIVE', score: 0.9 })));
          if (pool.hold) held.push(answer);
          else setTimeout(answer, 100 * texts.length);
        });
      return pool;
    }

    async function busyService(env: Record<string, string>) {
      const pool = slowPool();
      const service = serviceWith(pool, { CLASSIFIER_MAX_BATCH: '2', CLASSIFIER_MAX_QUEUE: '100', ...env });
      await flush();
      // One batch of one text does not make an estimate (a lone text pays the round trip alone)...
      await service.classifyOne('warm', RequestContext.detached());
      expect(service.expectedWaitMs()).toBeUndefined();
      // ...a full one does: ~100 ms per text (more if the timers fire late).
      await service.classifyMany(['a', 'b'], RequestContext.detached());
      expect(service.expectedWaitMs()).toBe(0);
      // The worker is now busy with a batch that does not end, and texts queue behind it.
      pool.hold = true;
      const inFlight = service.classifyMany(['c', 'd'], RequestContext.detached());
      await flush();
      return { pool, service, inFlight };
    }

    it('refuses a text that would wait longer than the bound: 503 queue_full naming the wait, Retry-After from it', async () => {
      const { pool, service, inFlight } = await busyService({ CLASSIFIER_MAX_QUEUE_WAIT_MS: '250' });
      const queued = [service.classifyOne('q1', RequestContext.detached()), service.classifyOne('q2', RequestContext.detached())];
      // Two texts ahead: ~200 ms of work, within 250; a third text is admitted behind them.
      expect(service.expectedWaitMs()).toBeGreaterThan(190);
      expect(service.overloaded()).toBeUndefined();
      queued.push(service.classifyOne('q3', RequestContext.detached()));
      // Three ahead: ~300 ms: the next caller is refused, at admission and at submit alike.
      expect(service.admissionError()).toEqual(expect.objectContaining({ status: 503, code: 'queue_full' }));
      const error = await errorOf(service.classifyMany(['x', 'y'], RequestContext.detached()));
      expect(error.status).toBe(503);
      expect(error.code).toBe('queue_full');
      expect(error.message).toMatch(/would wait ~\d+ ms \(CLASSIFIER_MAX_QUEUE_WAIT_MS is 250\)/);
      expect(error.headers['retry-after']).toBe('1');
      expect(service.queued).toBe(3);
      // Nothing accepted is lost: once the worker moves on, every queued caller is answered.
      pool.release();
      await expect(inFlight).resolves.toEqual(expect.objectContaining({ model: 'm' }));
      await expect(Promise.all(queued)).resolves.toHaveLength(3);
      expect(service.overloaded()).toBeUndefined();
    });

    it('Retry-After grows with the work queued (over 2 s of it here)', async () => {
      const { pool, service, inFlight } = await busyService({ CLASSIFIER_MAX_QUEUE_WAIT_MS: '2000' });
      const queued: Array<Promise<unknown>> = [];
      let error: ApiError | undefined;
      while (!error && queued.length < 100) {
        const call = service.classifyOne(`t${queued.length}`, RequestContext.detached());
        await flush();
        if (service.queued > queued.length) queued.push(call);
        else error = await errorOf(call);
      }
      // ~21 texts of ~100 ms each were admitted; the next one would have waited over 2 s.
      expect(queued.length).toBeGreaterThanOrEqual(15);
      expect(queued.length).toBeLessThanOrEqual(21);
      expect(error?.code).toBe('queue_full');
      expect(error?.headers['retry-after']).toBe(String(Math.ceil((service.expectedWaitMs() ?? 0) / 1000)));
      expect(Number(error?.headers['retry-after'])).toBeGreaterThanOrEqual(3);
      pool.release();
      await Promise.all([inFlight, ...queued]);
    });

    it('always admits the next full batch of each worker, however slow the model: the bound never starves a worker', async () => {
      const pool = slowPool();
      const service = serviceWith(pool, { CLASSIFIER_MAX_BATCH: '4', CLASSIFIER_MAX_QUEUE: '100', CLASSIFIER_MAX_QUEUE_WAIT_MS: '150' });
      await flush();
      await service.classifyMany(['a', 'b', 'c', 'd'], RequestContext.detached()); // ~100 ms per text
      pool.hold = true;
      const inFlight = service.classifyMany(['e', 'f', 'g', 'h'], RequestContext.detached());
      await flush();
      // From the second text on, each would wait over 150 ms by the estimate; all four fill the
      // next batch, so all four are admitted.
      const queued = ['q1', 'q2', 'q3', 'q4'].map((t) => service.classifyOne(t, RequestContext.detached()));
      await flush();
      expect(service.queued).toBe(4);
      expect(service.expectedWaitMs()).toBeGreaterThan(390);
      // The fifth would wait behind a full batch (~400 ms): refused by the bound in time.
      const error = await errorOf(service.classifyOne('q5', RequestContext.detached()));
      expect(error.code).toBe('queue_full');
      expect(error.message).toMatch(/would wait ~\d+ ms \(CLASSIFIER_MAX_QUEUE_WAIT_MS is 150\)/);
      pool.release();
      await expect(Promise.all([inFlight, ...queued])).resolves.toHaveLength(5);
    });

    it('0 turns the bound off: only CLASSIFIER_MAX_QUEUE (in texts) refuses', async () => {
      const { pool, service, inFlight } = await busyService({ CLASSIFIER_MAX_QUEUE_WAIT_MS: '0', CLASSIFIER_MAX_QUEUE: '10' });
      const queued = Array.from({ length: 10 }, (_, i) => service.classifyOne(`t${i}`, RequestContext.detached()));
      expect(service.expectedWaitMs()).toBeGreaterThan(950);
      const error = await errorOf(service.classifyOne('late', RequestContext.detached()));
      expect(error.message).toMatch(/queue is full \(10 texts wait at most\)/);
      pool.release();
      await Promise.all([inFlight, ...queued]);
    });
  });
});
