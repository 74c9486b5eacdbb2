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
});
