import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PACKAGE_ROOT } from './package-root.js';
import 'reflect-metadata';
import { AppConfig } from './app-config.js';
import { validateEnvironment } from './environment.loader.js';
import { EnvironmentSchema } from './environment.schema.js';

function schemaWith(values: Partial<EnvironmentSchema>): EnvironmentSchema {
  return Object.assign(new EnvironmentSchema(), values);
}

describe(AppConfig.name, () => {
  describe('upstream.baseUrl', () => {
    it.each([
      ['https://api.openai.com/v1/', 'https://api.openai.com/v1'],
      ['http://localhost:8080/v1///', 'http://localhost:8080/v1'],
      ['http://localhost:8080/', 'http://localhost:8080'],
      ['https://api.openai.com/v1', 'https://api.openai.com/v1'],
    ])('strips trailing slashes from %j', (given, expected) => {
      expect(new AppConfig(validateEnvironment({ OPENAI_BASE_URL: given })).upstream.baseUrl).toBe(expected);
    });

    it('keeps inner slashes', () => {
      expect(new AppConfig(schemaWith({ OPENAI_BASE_URL: 'https://proxy.example.com/openai/v1/' })).upstream.baseUrl).toBe(
        'https://proxy.example.com/openai/v1',
      );
    });
  });

  describe('upstream.apiKey', () => {
    it('is undefined for an empty key', () => {
      expect(new AppConfig(schemaWith({ OPENAI_API_KEY: '' })).upstream.apiKey).toBeUndefined();
    });

    it('is undefined for an empty key coming through the environment', () => {
      expect(new AppConfig(validateEnvironment({ OPENAI_API_KEY: '' })).upstream.apiKey).toBeUndefined();
    });

    it('is undefined when not set', () => {
      expect(new AppConfig(validateEnvironment({})).upstream.apiKey).toBeUndefined();
    });

    it('keeps a configured key', () => {
      expect(new AppConfig(validateEnvironment({ OPENAI_API_KEY: 'sk-test' })).upstream.apiKey).toBe('sk-test');
    });
  });

  it('groups the validated settings by concern', () => {
    const config = new AppConfig(
      schemaWith({
        PORT: 8080,
        HOST: '127.0.0.1',
        BODY_LIMIT_BYTES: 4096,
        LOG_LEVEL: 'warn',
        SHUTDOWN_GRACE_MS: 5,
        UPSTREAM_TIMEOUT_MS: 400,
        UPSTREAM_MAX_SOCKETS: 8,
        UPSTREAM_MAX_STREAMS: 16,
        UPSTREAM_POOL_WAIT_MS: 250,
        UPSTREAM_HTTP2: true,
        UPSTREAM_MAX_RESPONSE_BYTES: 4096,
        UPSTREAM_TRANSPORT: 'axios',
        CHAT_MODEL: 'm',
        SSE_HEARTBEAT_MS: 60,
      }),
    );
    expect(config.server).toEqual({ port: 8080, host: '127.0.0.1', bodyLimitBytes: 4096, linger: { maxMs: 5000, maxBytes: 67_108_864 }, logLevel: 'warn', logFormat: 'json', shutdownGraceMs: 5 });
    expect(config.upstream).toEqual({
      baseUrl: 'https://api.openai.com/v1',
      apiKey: undefined,
      timeoutMs: 400,
      maxSockets: 8,
      maxStreams: 16,
      poolWaitMs: 250,
      http2: true,
      maxResponseBytes: 4096,
      transport: 'axios',
      targets: [{ name: 'default', baseUrl: 'https://api.openai.com/v1', apiKey: undefined }],
      maxRetries: 2,
      breaker: { failureRate: 0.9, window: 40, minCalls: 10, cooldownMs: 5000, maxCooldownMs: 60_000 },
      retryBudget: { ratio: 0.2, minPerSecond: 1, windowMs: 10_000 },
    });
    expect(config.deprecations).toEqual([]);
    expect(config.shedding).toEqual({ maxInFlight: 10_000, maxEventLoopDelayMs: 0 });
    expect(config.chat).toEqual({ defaultModel: 'm', heartbeatMs: 60 });
    expect(config.embeddings).toEqual({
      defaultModel: 'text-embedding-3-small',
      batchSize: 64,
      concurrency: 16,
      maxInputs: 2048,
      maxTextChars: 32_768,
      cacheSize: 100_000,
      cacheMaxBytes: 2 * 1024 ** 3,
      cacheSegmentBytes: 4 * 1024 ** 2,
      cacheTtlS: 86_400,
      upstreamBase64: true,
      coalesceMs: 2,
      coalesceWhenIdle: false,
    });
  });

  describe('breaker and retry budget', () => {
    it('reads percentages as shares; BREAKER_MIN_CALLS is capped at BREAKER_WINDOW; the cool-down cap is at least the cool-down', () => {
      const { upstream } = new AppConfig(
        validateEnvironment({ BREAKER_FAILURE_PERCENT: '75', BREAKER_WINDOW: '8', BREAKER_MIN_CALLS: '20', BREAKER_COOLDOWN_MS: '900', BREAKER_COOLDOWN_MAX_MS: '10', RETRY_BUDGET_PERCENT: '5' }),
      );
      expect(upstream.breaker).toEqual({ failureRate: 0.75, window: 8, minCalls: 8, cooldownMs: 900, maxCooldownMs: 900 });
      expect(upstream.retryBudget.ratio).toBe(0.05);
    });

    it('BREAKER_THRESHOLD is still accepted, and reported as ignored', () => {
      const config = new AppConfig(validateEnvironment({ BREAKER_THRESHOLD: '5' }));
      expect(config.deprecations).toEqual([expect.stringMatching(/^BREAKER_THRESHOLD is ignored: .*BREAKER_FAILURE_PERCENT/)]);
      expect(() => validateEnvironment({ BREAKER_THRESHOLD: 'x' })).toThrow(/BREAKER_THRESHOLD/);
      expect(() => validateEnvironment({ BREAKER_FAILURE_PERCENT: '100' })).toThrow(/BREAKER_FAILURE_PERCENT/);
    });
  });

  describe('local model paths', () => {
    it('resolves relative paths from the package root, not the cwd', () => {
      const { localModel } = new AppConfig(schemaWith({}));
      expect(localModel.localModelPath).toBe(resolve(PACKAGE_ROOT, 'models'));
      expect(localModel.fallbackPath).toBe(resolve(PACKAGE_ROOT, 'models', 'lexicon-sentiment'));
      expect(localModel.cacheDir).toBe(resolve(PACKAGE_ROOT, '.cache', 'models'));
      expect(existsSync(join(localModel.fallbackPath!, 'onnx', 'model.onnx'))).toBe(true);
    });

    it.each(['', 'none', 'NONE'])('LOCAL_MODEL_FALLBACK=%j switches the fallback off', (value) => {
      expect(new AppConfig(schemaWith({ LOCAL_MODEL_FALLBACK: value })).localModel.fallbackPath).toBeUndefined();
    });

    it('keeps absolute paths', () => {
      expect(new AppConfig(schemaWith({ LOCAL_MODEL_PATH: '/srv/models' })).localModel.localModelPath).toBe('/srv/models');
    });
  });
});
