// The loader relies on design-type metadata (class-transformer implicit conversion); main.ts loads
// this polyfill first, so the spec does too.
import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidEnvironmentError, loadEnvironment, validateEnvironment } from './environment.loader.js';
import { EnvironmentSchema } from './environment.schema.js';

function errorOf(fn: () => unknown): InvalidEnvironmentError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidEnvironmentError) return error;
    throw error;
  }
  throw new Error('expected an InvalidEnvironmentError, but nothing was thrown');
}

describe(validateEnvironment.name, () => {
  describe('rejects bad values, naming the key', () => {
    it('PORT=abc', () => {
      const error = errorOf(() => validateEnvironment({ PORT: 'abc' }));
      expect(error).toBeInstanceOf(InvalidEnvironmentError);
      expect(error.name).toBe('InvalidEnvironmentError');
      expect(error.message).toMatch(/^Invalid configuration: /);
      expect(error.message).toContain('PORT:');
      expect(error.message).toContain('"abc"');
    });

    it('UPSTREAM_TIMEOUT_MS=-1', () => {
      const error = errorOf(() => validateEnvironment({ UPSTREAM_TIMEOUT_MS: '-1' }));
      expect(error.message).toContain('UPSTREAM_TIMEOUT_MS:');
      expect(error.message).toContain('must not be less than 1');
      expect(error.message).toContain('"-1"');
    });

    it.each([
      ['EMBEDDINGS_BATCH_SIZE', '0'],
      ['EMBEDDINGS_BATCH_SIZE', '4096'],
      ['EMBEDDINGS_CONCURRENCY', '0'],
      ['EMBEDDINGS_MAX_INPUTS', 'many'],
      ['EMBEDDINGS_CACHE_SIZE', '-1'],
      ['EMBEDDINGS_COALESCE_MS', '1.5'],
      ['UPSTREAM_MAX_RESPONSE_BYTES', '100'],
      ['UPSTREAM_MAX_RESPONSE_BYTES', '64MB'],
    ])('%s=%s', (key, value) => {
      const error = errorOf(() => validateEnvironment({ [key]: value }));
      expect(error.message).toContain(`${key}:`);
      expect(error.message).toContain(`"${value}"`);
    });

    it('ALLOW_REMOTE_MODELS=maybe', () => {
      expect(errorOf(() => validateEnvironment({ ALLOW_REMOTE_MODELS: 'maybe' })).message).toContain(
        'ALLOW_REMOTE_MODELS: ALLOW_REMOTE_MODELS must be a boolean value (got "maybe")',
      );
    });

    it.each(['0', '-2', 'x'])('CLASSIFIER_THREADS=%s', (value) => {
      expect(errorOf(() => validateEnvironment({ CLASSIFIER_THREADS: value })).message).toContain('CLASSIFIER_THREADS:');
    });

    it('a fractional PORT', () => {
      const error = errorOf(() => validateEnvironment({ PORT: '80.5' }));
      expect(error.message).toContain('PORT:');
    });

    it('names several bad keys together in one error', () => {
      const error = errorOf(() =>
        validateEnvironment({ PORT: 'abc', UPSTREAM_TIMEOUT_MS: '-1', LOG_LEVEL: 'loud', UPSTREAM_TRANSPORT: 'carrier-pigeon' }),
      );
      for (const key of ['PORT', 'UPSTREAM_TIMEOUT_MS', 'LOG_LEVEL', 'UPSTREAM_TRANSPORT']) {
        expect(error.message).toContain(`${key}:`);
      }
      expect(error.message.split('; ')).toHaveLength(4);
    });

    it.each(['not a url', 'ftp://files.example.com/v1', 'api.openai.com/v1', 'http://'])('OPENAI_BASE_URL=%j', (url) => {
      const error = errorOf(() => validateEnvironment({ OPENAI_BASE_URL: url }));
      expect(error.message).toContain('OPENAI_BASE_URL:');
      expect(error.message).not.toContain('PORT');
    });

    it('LOG_LEVEL outside the allowed list', () => {
      const error = errorOf(() => validateEnvironment({ LOG_LEVEL: 'verbose' }));
      expect(error.message).toContain('LOG_LEVEL:');
      expect(error.message).toContain('"verbose"');
      // The message lists what would have been accepted.
      expect(error.message).toContain('fatal, error, warn, info, debug, trace, silent');
    });

    it('LOG_LEVEL is case-sensitive', () => {
      expect(() => validateEnvironment({ LOG_LEVEL: 'INFO' })).toThrow(/LOG_LEVEL:/);
    });

    it('UPSTREAM_TRANSPORT not undici or axios', () => {
      const error = errorOf(() => validateEnvironment({ UPSTREAM_TRANSPORT: 'fetch' }));
      expect(error.message).toContain('UPSTREAM_TRANSPORT:');
      expect(error.message).toContain('undici, axios');
    });

    it('never echoes OPENAI_API_KEY in an error message', () => {
      const secret = 'sk-proj-THIS-MUST-NOT-LEAK-0123456789';
      const error = errorOf(() =>
        validateEnvironment({ OPENAI_API_KEY: secret, PORT: 'abc', OPENAI_BASE_URL: 'nope', LOG_LEVEL: 'x' }),
      );
      expect(error.message).not.toContain(secret);
      expect(error.message).not.toContain('THIS-MUST-NOT-LEAK');
      expect(error.stack ?? '').not.toContain(secret);
    });

    it('REDIS_URL that is not redis:// or rediss://, never echoing it (it may hold a password)', () => {
      const error = errorOf(() => validateEnvironment({ REDIS_URL: 'http://:hunter2-secret@cache:6379' }));
      expect(error.message).toContain('REDIS_URL: REDIS_URL must be a redis:// or rediss:// URL');
      expect(error.message).not.toContain('hunter2');
      expect(validateEnvironment({ REDIS_URL: ' rediss://:pw@cache:6380/2 ' }).REDIS_URL).toBe('rediss://:pw@cache:6380/2');
      expect(validateEnvironment({ REDIS_URL: '' }).REDIS_URL).toBeUndefined();
    });

    it('ignores unknown keys instead of failing on them', () => {
      expect(validateEnvironment({ SOMETHING_ELSE: 'abc', PATH: '/usr/bin' })).toEqual(new EnvironmentSchema());
    });
  });

  describe('defaults', () => {
    it('applies every default to an empty source', () => {
      const env = validateEnvironment({});
      expect(env).toBeInstanceOf(EnvironmentSchema);
      expect(env).toEqual(
        expect.objectContaining({
          PORT: 3000,
          HOST: '0.0.0.0',
          BODY_LIMIT_BYTES: 1_048_576,
          LOG_LEVEL: 'info',
          SHUTDOWN_GRACE_MS: 10_000,
          OPENAI_BASE_URL: 'https://api.openai.com/v1',
          CHAT_MODEL: 'gpt-4o-mini',
          UPSTREAM_TIMEOUT_MS: 30_000,
          UPSTREAM_MAX_SOCKETS: 256,
          UPSTREAM_TRANSPORT: 'undici',
          SSE_HEARTBEAT_MS: 15_000,
          EMBEDDING_MODEL: 'text-embedding-3-small',
          EMBEDDINGS_BATCH_SIZE: 64,
          EMBEDDINGS_CONCURRENCY: 16,
          EMBEDDINGS_MAX_INPUTS: 2048,
          EMBEDDINGS_MAX_TEXT_CHARS: 32_768,
          EMBEDDINGS_CACHE_SIZE: 100_000,
          EMBEDDINGS_CACHE_MAX_BYTES: 2 * 1024 ** 3,
          EMBEDDINGS_CACHE_SEGMENT_BYTES: 4 * 1024 ** 2,
          EMBEDDINGS_UPSTREAM_BASE64: true,
          EMBEDDINGS_COALESCE_MS: 2,
          EMBEDDINGS_COALESCE_WHEN_IDLE: false,
          RATE_LIMIT_INSTANCES: 1,
          REDIS_TIMEOUT_MS: 100,
        }),
      );
      expect(env.OPENAI_API_KEY).toBeUndefined();
    });

    it.each(['', '   ', '\t'])('treats %j as unset, so the default applies (not port 0)', (blank) => {
      const env = validateEnvironment({ PORT: blank, HOST: blank, LOG_LEVEL: blank, OPENAI_API_KEY: blank, UPSTREAM_TRANSPORT: blank });
      expect(env.PORT).toBe(3000);
      expect(env.HOST).toBe('0.0.0.0');
      expect(env.LOG_LEVEL).toBe('info');
      expect(env.UPSTREAM_TRANSPORT).toBe('undici');
      expect(env.OPENAI_API_KEY).toBeUndefined();
    });

    it.each([
      ['false', false],
      ['FALSE', false],
      ['0', false],
      ['no', false],
      ['true', true],
      ['1', true],
      ['Yes', true],
    ])('reads ALLOW_REMOTE_MODELS=%s as %s', (value, expected) => {
      expect(validateEnvironment({ ALLOW_REMOTE_MODELS: value }).ALLOW_REMOTE_MODELS).toBe(expected);
    });

    it('keeps an empty LOCAL_MODEL_FALLBACK (it switches the fallback off)', () => {
      expect(validateEnvironment({ LOCAL_MODEL_FALLBACK: '' }).LOCAL_MODEL_FALLBACK).toBe('');
      expect(validateEnvironment({}).LOCAL_MODEL_FALLBACK).toBe('models/lexicon-sentiment');
    });

    it('treats undefined as unset', () => {
      expect(validateEnvironment({ PORT: undefined, CHAT_MODEL: undefined })).toEqual(new EnvironmentSchema());
    });
  });

  describe('accepted values', () => {
    it('keeps string settings, trimmed', () => {
      const env = validateEnvironment({
        HOST: ' 127.0.0.1 ',
        LOG_LEVEL: ' debug ',
        UPSTREAM_TRANSPORT: 'axios',
        CHAT_MODEL: 'gpt-4.1',
        OPENAI_BASE_URL: 'http://localhost:8080/v1',
        OPENAI_API_KEY: ' sk-test ',
      });
      expect(env.HOST).toBe('127.0.0.1');
      expect(env.LOG_LEVEL).toBe('debug');
      expect(env.UPSTREAM_TRANSPORT).toBe('axios');
      expect(env.CHAT_MODEL).toBe('gpt-4.1');
      expect(env.OPENAI_BASE_URL).toBe('http://localhost:8080/v1');
      expect(env.OPENAI_API_KEY).toBe('sk-test');
    });

    it('converts numeric strings to numbers', () => {
      const env = validateEnvironment({
        PORT: '8080',
        BODY_LIMIT_BYTES: '4096',
        SHUTDOWN_GRACE_MS: '0',
        UPSTREAM_TIMEOUT_MS: '400',
        UPSTREAM_MAX_SOCKETS: '16',
        SSE_HEARTBEAT_MS: '60',
      });
      expect(env.PORT).toBe(8080);
      expect(env.BODY_LIMIT_BYTES).toBe(4096);
      expect(env.SHUTDOWN_GRACE_MS).toBe(0);
      expect(env.UPSTREAM_TIMEOUT_MS).toBe(400);
      expect(env.UPSTREAM_MAX_SOCKETS).toBe(16);
      expect(env.SSE_HEARTBEAT_MS).toBe(60);
    });
  });
});

describe(loadEnvironment.name, () => {
  // Every key the loader reads: cleared so the runner's own environment cannot leak in, then restored.
  const keys = [...new Set([...Object.keys(new EnvironmentSchema()), 'OPENAI_API_KEY'])];
  let saved: Record<string, string | undefined>;
  let dir: string;

  beforeEach(() => {
    saved = Object.fromEntries(keys.map((key) => [key, process.env[key]]));
    for (const key of keys) delete process.env[key];
    dir = mkdtempSync(join(tmpdir(), 'ballast-env-'));
  });

  afterEach(() => {
    for (const key of keys) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
    rmSync(dir, { recursive: true, force: true });
  });

  function envFile(content: string): string {
    const file = join(dir, '.env');
    writeFileSync(file, content, 'utf8');
    return file;
  }

  it('fails on a bad value that only the .env file holds, naming the key', () => {
    const file = envFile('LOG_LEVEL=shouting\n');
    expect(() => loadEnvironment({ envFile: file })).toThrow(InvalidEnvironmentError);
    expect(() => loadEnvironment({ envFile: file })).toThrow(/LOG_LEVEL:/);
  });

  it('lets a valid override rescue a bad value from the file', () => {
    const file = envFile('LOG_LEVEL=shouting\n');
    expect(loadEnvironment({ envFile: file, overrides: { LOG_LEVEL: 'warn' } }).LOG_LEVEL).toBe('warn');
  });

  it('ignores a missing env file', () => {
    const env = loadEnvironment({ envFile: join(dir, 'does-not-exist.env') });
    expect(env.CHAT_MODEL).toBe('gpt-4o-mini');
  });

  it('reads settings from the .env file', () => {
    const file = envFile(
      ['# comment', 'HOST=10.0.0.1', 'CHAT_MODEL="from-file"', 'UPSTREAM_TRANSPORT=axios', 'OPENAI_BASE_URL=http://localhost:9999/v1', ''].join('\n'),
    );
    const env = loadEnvironment({ envFile: file });
    expect(env.HOST).toBe('10.0.0.1');
    expect(env.CHAT_MODEL).toBe('from-file');
    expect(env.UPSTREAM_TRANSPORT).toBe('axios');
    expect(env.OPENAI_BASE_URL).toBe('http://localhost:9999/v1');
  });

  it('orders precedence file < process.env < overrides', () => {
    const file = envFile('HOST=file-host\nCHAT_MODEL=file-model\nLOG_LEVEL=debug\n');
    process.env.CHAT_MODEL = 'process-model';
    process.env.LOG_LEVEL = 'warn';

    const env = loadEnvironment({ envFile: file, overrides: { LOG_LEVEL: 'error' } });

    expect(env.HOST).toBe('file-host'); // only in the file
    expect(env.CHAT_MODEL).toBe('process-model'); // process.env beats the file
    expect(env.LOG_LEVEL).toBe('error'); // overrides beat both
  });

  it('without an envFile uses process.env and overrides only', () => {
    process.env.CHAT_MODEL = 'process-model';
    const env = loadEnvironment({ overrides: { HOST: '127.0.0.1' } });
    expect(env.CHAT_MODEL).toBe('process-model');
    expect(env.HOST).toBe('127.0.0.1');
  });

  it('does not write what it read back into process.env', () => {
    const file = envFile('HOST=file-host\n');
    loadEnvironment({ envFile: file, overrides: { CHAT_MODEL: 'override-model' } });
    expect(process.env.HOST).toBeUndefined();
    expect(process.env.CHAT_MODEL).toBeUndefined();
  });
});
