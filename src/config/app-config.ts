import { EnvironmentSchema, LogFormat, LogLevel, UpstreamSpec, UpstreamTransportName } from './environment.schema.js';
import { fromPackageRoot } from './package-root.js';

/** The validated configuration, grouped by concern. The only way the app reads its settings. */
export class AppConfig {
  readonly server: {
    port: number;
    host: string;
    bodyLimitBytes: number;
    /** The lingering close after a 413: read and discard the rest of the body for at most this long / this much. */
    linger: { maxMs: number; maxBytes: number };
    logLevel: LogLevel;
    logFormat: LogFormat;
    shutdownGraceMs: number;
  };
  readonly access: {
    /** Keys clients must present; empty = authentication off. */
    apiKeys: string[];
    /** Requests per minute per key; 0 = off. */
    rateLimitRpm: number;
    /** Instances sharing the limit through Redis; each allows rpm / this while Redis is down. */
    rateLimitInstances: number;
  };
  readonly sharedState: {
    /** Undefined: everything stays in process. */
    redisUrl: string | undefined;
    timeoutMs: number;
  };
  readonly upstream: {
    baseUrl: string;
    /** Undefined when not configured: chat routes answer 503 not_configured_error. */
    apiKey: string | undefined;
    timeoutMs: number;
    maxSockets: number;
    /** Connections per upstream origin for streams. */
    maxStreams: number;
    /** Longest wait for a free connection; then 503 upstream_pool_exhausted. */
    poolWaitMs: number;
    http2: boolean;
    /** Largest JSON answer read from an upstream; beyond it, 502 upstream_response_too_large. */
    maxResponseBytes: number;
    transport: UpstreamTransportName;
    /** In priority order; the single OPENAI_BASE_URL/OPENAI_API_KEY pair when UPSTREAMS is unset. */
    targets: UpstreamSpec[];
    maxRetries: number;
    breaker: {
      /** Opens when more than this share (0-1) of the window's calls failed. */
      failureRate: number;
      window: number;
      minCalls: number;
      cooldownMs: number;
      maxCooldownMs: number;
    };
    retryBudget: {
      /** Share (0-1) of the window's requests that may be retried. */
      ratio: number;
      minPerSecond: number;
      windowMs: number;
    };
  };
  /** Keys that are set but no longer have an effect: one warning line each at boot. */
  readonly deprecations: string[];
  readonly shedding: {
    /** 0 = no limit. */
    maxInFlight: number;
    /** 0 = off. */
    maxEventLoopDelayMs: number;
  };
  readonly chat: { defaultModel: string; heartbeatMs: number };
  readonly embeddings: {
    defaultModel: string;
    batchSize: number;
    concurrency: number;
    maxInputs: number;
    maxTextChars: number;
    /** Entries in the (model, text) LRU cache; 0 turns it off. */
    cacheSize: number;
    /** Bytes that cache may hold. */
    cacheMaxBytes: number;
    /** Size of the cache's reused memory segments. */
    cacheSegmentBytes: number;
    /** Lifetime of a vector in the shared tier (REDIS_URL), in seconds. */
    cacheTtlS: number;
    /** Ask the upstream for base64 when the caller wants base64. */
    upstreamBase64: boolean;
    /** Window in which concurrent calls share upstream batches; 0 turns coalescing off. */
    coalesceMs: number;
    /** Whether a call that finds its model idle waits out the window too (default: it goes at once). */
    coalesceWhenIdle: boolean;
  };

  readonly retrieval: {
    enabled: boolean;
    /** Undefined = the embedded PGlite store under dataDir. */
    databaseUrl: string | undefined;
    poolMax: number;
    /** Absolute. */
    dataDir: string;
    /** Niceness of the embedded store's worker thread. */
    storeNice: number;
    statementTimeoutMs: number;
    maxDocuments: number;
    chunkSize: number;
    chunkOverlap: number;
    hnsw: { m: number; efConstruction: number; efSearch: number };
  };

  readonly localModel: {
    model: string;
    /** Absolute folder of model folders. */
    localModelPath: string;
    allowRemote: boolean;
    cacheDir: string;
    /** Absolute path of the fallback model folder; undefined = no fallback. */
    fallbackPath: string | undefined;
    /** While no model could be loaded, how often to try again (ms); 0 = never. */
    retryMs: number;
  };
  readonly classifier: {
    threads: number;
    nice: number;
    maxQueue: number;
    /** A text is not queued behind more than this much expected work (ms); 0 = no bound in time. */
    maxQueueWaitMs: number;
    maxBatch: number;
    batchWaitMs: number;
    maxInputs: number;
    maxTextChars: number;
  };

  constructor(env: EnvironmentSchema) {
    this.server = {
      port: env.PORT,
      host: env.HOST,
      bodyLimitBytes: env.BODY_LIMIT_BYTES,
      linger: { maxMs: env.BODY_LINGER_MS, maxBytes: env.BODY_LINGER_MAX_BYTES },
      logLevel: env.LOG_LEVEL,
      logFormat: env.LOG_FORMAT,
      shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    };
    this.access = {
      apiKeys: parseKeys(env.API_KEYS),
      rateLimitRpm: env.RATE_LIMIT_RPM,
      rateLimitInstances: env.RATE_LIMIT_INSTANCES,
    };
    this.sharedState = { redisUrl: env.REDIS_URL || undefined, timeoutMs: env.REDIS_TIMEOUT_MS };
    this.upstream = {
      baseUrl: env.OPENAI_BASE_URL.replace(/\/+$/, ''),
      apiKey: env.OPENAI_API_KEY || undefined,
      timeoutMs: env.UPSTREAM_TIMEOUT_MS,
      maxSockets: env.UPSTREAM_MAX_SOCKETS,
      maxStreams: env.UPSTREAM_MAX_STREAMS,
      poolWaitMs: env.UPSTREAM_POOL_WAIT_MS,
      http2: env.UPSTREAM_HTTP2,
      maxResponseBytes: env.UPSTREAM_MAX_RESPONSE_BYTES,
      transport: env.UPSTREAM_TRANSPORT,
      targets: env.upstreamList ?? [
        { name: 'default', baseUrl: env.OPENAI_BASE_URL.replace(/\/+$/, ''), apiKey: env.OPENAI_API_KEY || undefined },
      ],
      maxRetries: env.UPSTREAM_MAX_RETRIES,
      breaker: {
        failureRate: env.BREAKER_FAILURE_PERCENT / 100,
        window: env.BREAKER_WINDOW,
        minCalls: Math.min(env.BREAKER_MIN_CALLS, env.BREAKER_WINDOW),
        cooldownMs: env.BREAKER_COOLDOWN_MS,
        maxCooldownMs: Math.max(env.BREAKER_COOLDOWN_MS, env.BREAKER_COOLDOWN_MAX_MS),
      },
      retryBudget: {
        ratio: env.RETRY_BUDGET_PERCENT / 100,
        minPerSecond: env.RETRY_BUDGET_MIN_PER_SEC,
        windowMs: env.RETRY_BUDGET_WINDOW_MS,
      },
    };
    this.deprecations =
      env.BREAKER_THRESHOLD === undefined
        ? []
        : ['BREAKER_THRESHOLD is ignored: breakers open on a failure rate now (BREAKER_FAILURE_PERCENT over BREAKER_WINDOW calls, at least BREAKER_MIN_CALLS)'];
    this.shedding = { maxInFlight: env.MAX_IN_FLIGHT, maxEventLoopDelayMs: env.MAX_EVENT_LOOP_DELAY_MS };
    this.chat = { defaultModel: env.CHAT_MODEL, heartbeatMs: env.SSE_HEARTBEAT_MS };
    this.embeddings = {
      defaultModel: env.EMBEDDING_MODEL,
      batchSize: env.EMBEDDINGS_BATCH_SIZE,
      concurrency: env.EMBEDDINGS_CONCURRENCY,
      maxInputs: env.EMBEDDINGS_MAX_INPUTS,
      maxTextChars: env.EMBEDDINGS_MAX_TEXT_CHARS,
      cacheSize: env.EMBEDDINGS_CACHE_SIZE,
      cacheMaxBytes: env.EMBEDDINGS_CACHE_MAX_BYTES,
      cacheSegmentBytes: env.EMBEDDINGS_CACHE_SEGMENT_BYTES,
      cacheTtlS: env.EMBEDDINGS_CACHE_TTL_S,
      upstreamBase64: env.EMBEDDINGS_UPSTREAM_BASE64,
      coalesceMs: env.EMBEDDINGS_COALESCE_MS,
      coalesceWhenIdle: env.EMBEDDINGS_COALESCE_WHEN_IDLE,
    };
    this.retrieval = {
      enabled: env.RETRIEVAL_ENABLED,
      databaseUrl: env.DATABASE_URL || undefined,
      poolMax: env.DATABASE_POOL_MAX,
      dataDir: fromPackageRoot(env.DATA_DIR),
      storeNice: env.RETRIEVAL_STORE_NICE,
      statementTimeoutMs: env.RETRIEVAL_STATEMENT_TIMEOUT_MS,
      maxDocuments: env.RETRIEVAL_MAX_DOCUMENTS,
      chunkSize: env.RETRIEVAL_CHUNK_SIZE,
      chunkOverlap: env.RETRIEVAL_CHUNK_OVERLAP,
      hnsw: { m: env.RETRIEVAL_HNSW_M, efConstruction: env.RETRIEVAL_HNSW_EF_CONSTRUCTION, efSearch: env.RETRIEVAL_HNSW_EF_SEARCH },
    };
    const fallback = env.LOCAL_MODEL_FALLBACK.trim();
    this.localModel = {
      model: env.LOCAL_MODEL,
      localModelPath: fromPackageRoot(env.LOCAL_MODEL_PATH),
      allowRemote: env.ALLOW_REMOTE_MODELS,
      cacheDir: fromPackageRoot(env.MODEL_CACHE_DIR),
      fallbackPath: fallback === '' || fallback.toLowerCase() === 'none' ? undefined : fromPackageRoot(fallback),
      retryMs: env.LOCAL_MODEL_RETRY_MS,
    };
    this.classifier = {
      threads: env.CLASSIFIER_THREADS,
      nice: env.CLASSIFIER_NICE,
      maxQueue: env.CLASSIFIER_MAX_QUEUE,
      maxQueueWaitMs: env.CLASSIFIER_MAX_QUEUE_WAIT_MS,
      maxBatch: env.CLASSIFIER_MAX_BATCH,
      batchWaitMs: env.CLASSIFIER_BATCH_WAIT_MS,
      maxInputs: env.CLASSIFIER_MAX_INPUTS,
      maxTextChars: env.CLASSIFIER_MAX_TEXT_CHARS,
    };
  }
}

/** `a, b,,c` → ['a', 'b', 'c']; duplicates dropped. */
export function parseKeys(value: string | undefined): string[] {
  return [...new Set((value ?? '').split(',').map((k) => k.trim()).filter((k) => k.length > 0))];
}
