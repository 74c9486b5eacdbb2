import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUrl, Max, Min, MinLength } from 'class-validator';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const UPSTREAM_TRANSPORTS = ['undici', 'axios'] as const;
export type UpstreamTransportName = (typeof UPSTREAM_TRANSPORTS)[number];

const trimmed = () => Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value));

/**
 * Every environment key ballast reads, with its default. The single place defaults live;
 * `.env.example` mirrors it.
 */
export class EnvironmentSchema {
  // --- server ---
  @IsInt() @Min(0) @Max(65535)
  PORT: number = 3000;

  @IsString() @MinLength(1) @trimmed()
  HOST: string = '0.0.0.0';

  @IsInt() @Min(1024) @Max(1024 * 1024 * 1024)
  BODY_LIMIT_BYTES: number = 1_048_576;

  @IsIn(LOG_LEVELS) @trimmed()
  LOG_LEVEL: LogLevel = 'info';

  @IsInt() @Min(0) @Max(600_000)
  SHUTDOWN_GRACE_MS: number = 10_000;

  // --- upstream ---
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true }) @trimmed()
  OPENAI_BASE_URL: string = 'https://api.openai.com/v1';

  @IsOptional() @IsString() @trimmed()
  OPENAI_API_KEY?: string;

  @IsString() @MinLength(1) @trimmed()
  CHAT_MODEL: string = 'gpt-4o-mini';

  @IsInt() @Min(1) @Max(3_600_000)
  UPSTREAM_TIMEOUT_MS: number = 30_000;

  @IsInt() @Min(1) @Max(65_536)
  UPSTREAM_MAX_SOCKETS: number = 256;

  @IsIn(UPSTREAM_TRANSPORTS) @trimmed()
  UPSTREAM_TRANSPORT: UpstreamTransportName = 'undici';

  @IsInt() @Min(0) @Max(600_000)
  SSE_HEARTBEAT_MS: number = 15_000;

  // --- embeddings ---
  @IsString() @MinLength(1) @trimmed()
  EMBEDDING_MODEL: string = 'text-embedding-3-small';

  @IsInt() @Min(1) @Max(2048)
  EMBEDDINGS_BATCH_SIZE: number = 256;

  @IsInt() @Min(1) @Max(256)
  EMBEDDINGS_CONCURRENCY: number = 4;

  @IsInt() @Min(1) @Max(100_000)
  EMBEDDINGS_MAX_INPUTS: number = 2048;

  @IsInt() @Min(1) @Max(1_000_000)
  EMBEDDINGS_MAX_TEXT_CHARS: number = 32_768;

  @IsInt() @Min(0) @Max(10_000_000)
  EMBEDDINGS_CACHE_SIZE: number = 10_000;

  @IsInt() @Min(0) @Max(1000)
  EMBEDDINGS_COALESCE_MS: number = 2;
}

export type EnvironmentKey = keyof EnvironmentSchema;
