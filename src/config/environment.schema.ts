import { availableParallelism } from 'node:os';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, MinLength } from 'class-validator';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const UPSTREAM_TRANSPORTS = ['undici', 'axios'] as const;
export type UpstreamTransportName = (typeof UPSTREAM_TRANSPORTS)[number];

/** `true/false/1/0/yes/no` (any case); anything else stays a string and fails IsBoolean. */
const booleanString = () =>
  Transform(({ obj, key }: { obj: Record<string, unknown>; key: string }) => {
    const raw = obj[key];
    if (typeof raw !== 'string') return raw;
    const v = raw.trim().toLowerCase();
    if (['true', '1', 'yes'].includes(v)) return true;
    if (['false', '0', 'no'].includes(v)) return false;
    return raw;
  });

const trimmed = () => Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value));

/**
 * Every environment key ballast reads, with its default. The single place defaults live;
 * `.env.example` mirrors it.
 */
export class EnvironmentSchema {
  /** Parsed from UPSTREAMS by the loader (not an environment key itself). */
  upstreamList?: UpstreamSpec[];

  // --- server ---
  @IsInt() @Min(0) @Max(65535)
  PORT: number = 3000;

  @IsString() @MinLength(1) @trimmed()
  HOST: string = '0.0.0.0';

  @IsInt() @Min(1024) @Max(1024 * 1024 * 1024)
  BODY_LIMIT_BYTES: number = 1_048_576;

  /** After a 413, how long (ms) the rest of the body is read and discarded so the client can read the answer; then the socket is closed. */
  @IsInt() @Min(0) @Max(600_000)
  BODY_LINGER_MS: number = 5000;

  /** After a 413, most bytes of the rest of the body read and discarded before the socket is closed. */
  @IsInt() @Min(0) @Max(1024 * 1024 * 1024)
  BODY_LINGER_MAX_BYTES: number = 64 * 1024 * 1024;

  @IsIn(LOG_LEVELS) @trimmed()
  LOG_LEVEL: LogLevel = 'info';

  /** json (one JSON object per line) | pretty (human-readable, for development; needs the dev dependencies). */
  @IsIn(LOG_FORMATS) @trimmed()
  LOG_FORMAT: LogFormat = 'json';

  @IsInt() @Min(0) @Max(600_000)
  SHUTDOWN_GRACE_MS: number = 10_000;

  // --- access ---
  /** Comma-separated keys clients must send as `Authorization: Bearer <key>`; empty = auth off. */
  @IsOptional() @IsString() @trimmed()
  API_KEYS?: string;

  /** Requests per minute per API key (per client IP while auth is off); 0 = no limit. */
  @IsInt() @Min(0) @Max(10_000_000)
  RATE_LIMIT_RPM: number = 0;

  /** Instances sharing REDIS_URL: while Redis is unreachable each one allows RATE_LIMIT_RPM / this on its own. */
  @IsInt() @Min(1) @Max(10_000)
  RATE_LIMIT_INSTANCES: number = 1;

  // --- shared state ---
  /** redis:// or rediss:// (TLS) URL, password and db in it: rate limits and the embeddings cache shared by instances; empty = in process. */
  @IsOptional() @IsString() @Matches(/^rediss?:\/\/\S+$/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' }) @trimmed()
  REDIS_URL?: string;

  /** A Redis command not answered within this (ms) fails: the rate limit falls back to the in-memory share, the cache to a miss. */
  @IsInt() @Min(1) @Max(60_000)
  REDIS_TIMEOUT_MS: number = 100;

  // --- upstream ---
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true }) @trimmed()
  OPENAI_BASE_URL: string = 'https://api.openai.com/v1';

  @IsOptional() @IsString() @trimmed()
  OPENAI_API_KEY?: string;

  @IsString() @MinLength(1) @trimmed()
  CHAT_MODEL: string = 'gpt-4o-mini';

  @IsInt() @Min(1) @Max(3_600_000)
  UPSTREAM_TIMEOUT_MS: number = 30_000;

  /** Connections per upstream origin for JSON calls (held for one call each). */
  @IsInt() @Min(1) @Max(65_536)
  UPSTREAM_MAX_SOCKETS: number = 256;

  /** Connections per upstream origin for streams (each held for a whole answer): the concurrent-stream bound. */
  @IsInt() @Min(1) @Max(65_536)
  UPSTREAM_MAX_STREAMS: number = 4096;

  /** Longest wait for a free upstream connection (inside UPSTREAM_TIMEOUT_MS); then 503 upstream_pool_exhausted. */
  @IsInt() @Min(1) @Max(3_600_000)
  UPSTREAM_POOL_WAIT_MS: number = 5_000;

  /** Offer HTTP/2 to https upstreams (ALPN; http:// stays HTTP/1.1), undici transport only. */
  @IsBoolean() @booleanString()
  UPSTREAM_HTTP2: boolean = false;

  /** Largest JSON answer read from an upstream (streams are not buffered, so not bounded by it). */
  @IsInt() @Min(1_024) @Max(1_073_741_824)
  UPSTREAM_MAX_RESPONSE_BYTES: number = 64 * 1024 * 1024;

  @IsIn(UPSTREAM_TRANSPORTS) @trimmed()
  UPSTREAM_TRANSPORT: UpstreamTransportName = 'undici';

  /** JSON list of `{name, baseUrl, apiKeyEnv, models?, weight?}` in priority order; unset = OPENAI_BASE_URL/OPENAI_API_KEY. */
  @IsOptional() @IsString() @trimmed()
  UPSTREAMS?: string;

  /** Retries after the first attempt (connection errors, 408/429/5xx), within UPSTREAM_TIMEOUT_MS. */
  @IsInt() @Min(0) @Max(10)
  UPSTREAM_MAX_RETRIES: number = 2;

  /** Deprecated and ignored (breakers open on a failure rate now, see BREAKER_FAILURE_PERCENT); a warning at boot says so. */
  @IsOptional() @IsInt() @Min(1) @Max(1000)
  BREAKER_THRESHOLD?: number;

  /** An upstream's breaker opens when more than this share (%) of its last BREAKER_WINDOW calls failed. */
  @IsInt() @Min(1) @Max(99)
  BREAKER_FAILURE_PERCENT: number = 90;

  /** Calls the failure rate is measured over (a sliding window per upstream). */
  @IsInt() @Min(1) @Max(10_000)
  BREAKER_WINDOW: number = 40;

  /** Calls in the window before the breaker may open at all (at most BREAKER_WINDOW). */
  @IsInt() @Min(1) @Max(10_000)
  BREAKER_MIN_CALLS: number = 10;

  /** How long an open breaker sheds an upstream before one probe request may close it. */
  @IsInt() @Min(1) @Max(3_600_000)
  BREAKER_COOLDOWN_MS: number = 5000;

  /** A probe that fails doubles the next cool-down, up to this. */
  @IsInt() @Min(1) @Max(3_600_000)
  BREAKER_COOLDOWN_MAX_MS: number = 60_000;

  /** Retries (and fallbacks) across the process may add this share (%) of the requests in RETRY_BUDGET_WINDOW_MS. */
  @IsInt() @Min(0) @Max(1000)
  RETRY_BUDGET_PERCENT: number = 20;

  /** Retries allowed per second on top of the share, so a quiet server still retries a lone failure. */
  @IsInt() @Min(0) @Max(100_000)
  RETRY_BUDGET_MIN_PER_SEC: number = 1;

  /** The window the retry budget counts requests and retries over. */
  @IsInt() @Min(1000) @Max(600_000)
  RETRY_BUDGET_WINDOW_MS: number = 10_000;

  // --- load shedding ---
  /** Requests in progress beyond which new ones get 503 at once; 0 = no limit. */
  @IsInt() @Min(0) @Max(10_000_000)
  MAX_IN_FLIGHT: number = 10_000;

  /** Event-loop delay (ms) beyond which new requests get 503 at once; 0 = off. */
  @IsInt() @Min(0) @Max(60_000)
  MAX_EVENT_LOOP_DELAY_MS: number = 0;

  @IsInt() @Min(0) @Max(600_000)
  SSE_HEARTBEAT_MS: number = 15_000;

  // --- embeddings ---
  @IsString() @MinLength(1) @trimmed()
  EMBEDDING_MODEL: string = 'text-embedding-3-small';

  /**
   * Most inputs per upstream embeddings request. 64 rather than more: against a fast upstream,
   * 64-text batches cost ballast ~15 % less CPU per text than 256-text ones, measured
   * (docs/benchmarks.md, "Embeddings at wire speed"; likely memory locality: a 1536-dim answer of 0.5 MB rather
   * than 2 MB is concatenated, cached and answered in one go), and a call of 64 texts or more leaves
   * at once instead of after EMBEDDINGS_COALESCE_MS. Against a remote API, more requests of fewer
   * texts each; raise it for an upstream that limits requests rather than tokens.
   */
  @IsInt() @Min(1) @Max(2048)
  EMBEDDINGS_BATCH_SIZE: number = 64;

  /** Most embeddings requests in flight to the upstream: with the batch size, 1,024 texts at once. */
  @IsInt() @Min(1) @Max(256)
  EMBEDDINGS_CONCURRENCY: number = 16;

  @IsInt() @Min(1) @Max(100_000)
  EMBEDDINGS_MAX_INPUTS: number = 2048;

  @IsInt() @Min(1) @Max(1_000_000)
  EMBEDDINGS_MAX_TEXT_CHARS: number = 32_768;

  /** Most vectors in the cache (0 = no cache); EMBEDDINGS_CACHE_MAX_BYTES bounds it too. */
  @IsInt() @Min(0) @Max(10_000_000)
  EMBEDDINGS_CACHE_SIZE: number = 100_000;

  /** Most bytes the cache holds (vectors as bytes, ~6-20 KB per 1536-dim vector): ~100k such vectors. */
  @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER)
  EMBEDDINGS_CACHE_MAX_BYTES: number = 2 * 1024 * 1024 * 1024;

  /** The cache's memory comes in reused segments of this size (vector-arena.ts); a vector over a quarter of it gets its own. */
  @IsInt() @Min(4096) @Max(1024 * 1024 * 1024)
  EMBEDDINGS_CACHE_SEGMENT_BYTES: number = 4 * 1024 * 1024;

  /** How long a vector stays in the shared cache tier (REDIS_URL), in seconds. */
  @IsInt() @Min(1) @Max(31_536_000)
  EMBEDDINGS_CACHE_TTL_S: number = 86_400;

  /** Base64 calls ask the upstream for base64 too (falls back to float by itself if the upstream refuses). */
  @IsBoolean() @booleanString()
  EMBEDDINGS_UPSTREAM_BASE64: boolean = true;

  /** While a batch of a model is in flight, how long later calls of it wait to share the next one (a call finding none goes at once). */
  @IsInt() @Min(0) @Max(1000)
  EMBEDDINGS_COALESCE_MS: number = 2;

  /**
   * A call that finds nothing of its model in flight waits out EMBEDDINGS_COALESCE_MS too. Off by
   * default: one text at c=1 took 1.2 ms instead of 3.6 against a local upstream; single-text calls
   * at c=8 were 35-75 % more per second, at c=64 the same, with 4 and 11 texts an upstream request
   * instead of 7 and 15 (docs/api.md). On for an upstream that limits requests rather than tokens.
   */
  @IsBoolean() @booleanString()
  EMBEDDINGS_COALESCE_WHEN_IDLE: boolean = false;

  // --- retrieval (collections, documents, search) ---
  /** Serve the retrieval routes (and open the vector store at start-up). */
  @IsBoolean() @booleanString()
  RETRIEVAL_ENABLED: boolean = true;

  /** PostgreSQL with pgvector (`postgres://user:pass@host:5432/db`); empty = the embedded PGlite under DATA_DIR. */
  @IsOptional() @IsString() @trimmed()
  DATABASE_URL?: string;

  /** Most pooled connections to DATABASE_URL (the embedded store has one session). */
  @IsInt() @Min(1) @Max(1000)
  DATABASE_POOL_MAX: number = 10;

  /** The embedded store's directory (relative to the package root); locked to one process. */
  @IsString() @MinLength(1) @trimmed()
  DATA_DIR: string = './data';

  /**
   * Scheduling niceness of the embedded store's worker thread (0 = the event loop's, 19 = lowest).
   * Raised, the kernel runs the event loop first when cores are short, so other routes and probes
   * stay fast during an index build or a burst of searches, but searches queue behind everything
   * else: at 10, c=16 vector search on 2 cores served ~19 % fewer requests with a 3x p99, for a
   * /health p99 of 9-15 ms instead of 13-22 (docs/benchmarks.md, "Tried and not kept"). Hence 0 by default.
   */
  @IsInt() @Min(0) @Max(19)
  RETRIEVAL_STORE_NICE: number = 0;

  /** Longest a retrieval query or write may run in the store (ms), SQL statement_timeout. */
  @IsInt() @Min(100) @Max(3_600_000)
  RETRIEVAL_STATEMENT_TIMEOUT_MS: number = 30_000;

  /** Most documents in one upsert call; more gets 413. */
  @IsInt() @Min(1) @Max(1_000_000)
  RETRIEVAL_MAX_DOCUMENTS: number = 1000;

  /** Default chunk size (characters) when a request names none. */
  @IsInt() @Min(50) @Max(32_768)
  RETRIEVAL_CHUNK_SIZE: number = 1000;

  /** Default overlap between neighbouring chunks (characters). */
  @IsInt() @Min(0) @Max(16_384)
  RETRIEVAL_CHUNK_OVERLAP: number = 150;

  /** HNSW `m` (links per node) of each collection's index. */
  @IsInt() @Min(2) @Max(100)
  RETRIEVAL_HNSW_M: number = 16;

  /** HNSW `ef_construction` (candidate list while building). */
  @IsInt() @Min(4) @Max(1000)
  RETRIEVAL_HNSW_EF_CONSTRUCTION: number = 64;

  /** HNSW `ef_search` (candidate list per query): recall against speed. */
  @IsInt() @Min(1) @Max(1000)
  RETRIEVAL_HNSW_EF_SEARCH: number = 100;

  // --- local model (POST /classify) ---
  /** Tried first: a folder under LOCAL_MODEL_PATH, or (ALLOW_REMOTE_MODELS) a Hugging Face model id. */
  @IsString() @MinLength(1) @trimmed()
  LOCAL_MODEL: string = 'Xenova/distilbert-base-uncased-finetuned-sst-2-english';

  /** A folder of transformers.js model folders; relative paths are from the package root. */
  @IsString() @MinLength(1) @trimmed()
  LOCAL_MODEL_PATH: string = 'models';

  @IsBoolean() @booleanString()
  ALLOW_REMOTE_MODELS: boolean = true;

  @IsString() @MinLength(1) @trimmed()
  MODEL_CACHE_DIR: string = '.cache/models';

  /** A model folder used when LOCAL_MODEL cannot be loaded; empty (or `none`) = no fallback. */
  @IsString() @trimmed()
  LOCAL_MODEL_FALLBACK: string = 'models/lexicon-sentiment';

  /** While no model could be loaded, try again after this long (ms), doubling up to 10×; 0 = never. */
  @IsInt() @Min(0) @Max(86_400_000)
  LOCAL_MODEL_RETRY_MS: number = 30_000;

  @IsInt() @Min(1) @Max(256)
  CLASSIFIER_THREADS: number = Math.max(1, availableParallelism() - 1);

  /**
   * Scheduling niceness of the worker threads (0 = same as the event loop, 19 = lowest): the event
   * loop then wins the CPU whenever it has work, so requests and refusals stay fast while inference
   * saturates the cores. Raising priority (negative) needs privileges, so it is not offered.
   */
  @IsInt() @Min(0) @Max(19)
  CLASSIFIER_NICE: number = 10;

  @IsInt() @Min(1) @Max(1_000_000)
  CLASSIFIER_MAX_QUEUE: number = 1024;

  @IsInt() @Min(0) @Max(600_000)
  CLASSIFIER_MAX_QUEUE_WAIT_MS: number = 500;

  @IsInt() @Min(1) @Max(4096)
  CLASSIFIER_MAX_BATCH: number = 32;

  @IsInt() @Min(0) @Max(1000)
  CLASSIFIER_BATCH_WAIT_MS: number = 2;

  @IsInt() @Min(1) @Max(100_000)
  CLASSIFIER_MAX_INPUTS: number = 256;

  @IsInt() @Min(1) @Max(1_000_000)
  CLASSIFIER_MAX_TEXT_CHARS: number = 4096;
}

/** One upstream from UPSTREAMS, its key read from the variable `apiKeyEnv` names. */
export interface UpstreamSpec {
  name: string;
  baseUrl: string;
  apiKey: string | undefined;
  /** Models it serves; undefined = any. */
  models?: string[];
  weight?: number;
}

export type EnvironmentKey = keyof EnvironmentSchema;
