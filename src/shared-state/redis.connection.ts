import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Command, Redis, type RedisOptions } from 'ioredis';
import { performance } from 'node:perf_hooks';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { SeriesHistogram } from '../metrics/series-histogram.js';

/** Reconnect delay after the n-th failed attempt: 100 ms doubling, at most 1 s (Redis back ⇒ shared again within a second). */
export const reconnectDelayMs = (attempt: number): number => Math.min(100 * 2 ** Math.max(0, attempt - 1), 1000);

/** `timeout` (cut at REDIS_TIMEOUT_MS) or `error`. */
function outcomeOf(error: unknown): string {
  return error instanceof Error && error.message === 'Command timed out' ? 'timeout' : 'error';
}

/**
 * ioredis with two additions for a client that sends one small command per HTTP request:
 * - Writes are coalesced per event-loop turn: the first command of a turn corks the socket and a
 *   setImmediate uncorks it, so every command issued while Node handles one batch of ready sockets
 *   leaves in one write (and Redis reads them in one read). One write syscall per command was
 *   ballast's largest cost with REDIS_URL set (~35 µs each on the bench VM, as much as the HTTP
 *   response's writev) and most of redis-server's (see the auto-pipelining note below).
 * - Every command's round trip (sent → reply or failure) is recorded, whoever sends it; a MULTI/EXEC
 *   transaction once, at its EXEC (MULTI and the commands it queues are answered at once).
 */
class InstrumentedRedis extends Redis {
  private corked = false;
  private queuing = false;

  constructor(
    url: string,
    options: Omit<RedisOptions, 'replyMapping'>,
    private readonly roundTrips: SeriesHistogram<'command' | 'outcome'>,
  ) {
    super(url, options);
  }

  override sendCommand(command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown {
    if (stream === undefined) this.coalesceWrites();
    if (!this.timed(command.name)) return super.sendCommand(command, stream);
    const started = performance.now();
    const result = super.sendCommand(command, stream);
    command.promise.then(
      () => this.roundTrips.series(command.name, 'ok').observe((performance.now() - started) / 1000),
      (error: unknown) => this.roundTrips.series(command.name, outcomeOf(error)).observe((performance.now() - started) / 1000),
    );
    return result;
  }

  private timed(name: string): boolean {
    if (name === 'multi') {
      this.queuing = true;
      return false;
    }
    if (!this.queuing) return true;
    if (name !== 'exec' && name !== 'discard') return false;
    this.queuing = false;
    return true;
  }

  private coalesceWrites(): void {
    const socket = this.stream;
    if (this.corked || socket === undefined || this.status !== 'ready') return;
    this.corked = true;
    socket.cork();
    setImmediate(() => {
      this.corked = false;
      socket.uncork();
    });
  }
}

/**
 * The process's one Redis client (REDIS_URL; TLS, password and db come in the URL), or none: then
 * every caller keeps its state in process. Built for callers that must never wait on Redis: while
 * it is down a command fails at once (no offline queue, no resend), a slow one fails after
 * REDIS_TIMEOUT_MS, and the client reconnects in the background with backoff. Callers treat a
 * failure as "use the local fallback", never as an error for the request.
 */
@Injectable()
export class RedisConnection implements OnModuleInit, OnApplicationShutdown {
  readonly client: Redis | undefined;
  private readonly logger = new Logger('Redis');
  private down = false;
  private lastError: string | undefined;
  private timerListKeeper: NodeJS.Timeout | undefined;

  constructor(config: AppConfig, metrics: MetricsService) {
    const { redisUrl, timeoutMs } = config.sharedState;
    if (redisUrl === undefined) return;
    const client = new InstrumentedRedis(
      redisUrl,
      {
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: timeoutMs,
        connectTimeout: Math.max(1000, timeoutMs),
        retryStrategy: reconnectDelayMs,
        connectionName: 'ballast',
        // No auto-pipelining: ~20 µs more per rate-limit call at c=1 (one client, alternating blocks),
        // presumably the Pipeline it builds per batch: its setImmediate hop, which coalesceWrites takes
        // too, cost nothing measurable at c=1 (bench/experiments/redis-ab.mjs: a PING in the guard
        // added 0.116 ms corked, 0.117 not).
        // CLIENT SETINFO and CLIENT MAINT_NOTIFICATIONS are unknown to Redis 7.0 (Debian's): each connect
        // would count failed commands. Neither is needed.
        disableClientInfo: true,
        maintNotifications: 'disabled',
      },
      metrics.redisRoundTrips,
    );
    client.on('ready', () => {
      if (this.down) this.logger.log('Redis is reachable again: limits and cache are shared again');
      this.down = false;
      this.lastError = undefined;
    });
    client.on('error', (error: Error) => {
      metrics.redisConnectionErrors.inc();
      this.lastError = error.message;
      if (this.down) return; // one line per outage, not one per reconnect attempt
      this.down = true;
      this.logger.warn(`Redis unreachable (${error.message}): rate limits fall back to this instance's share, the embeddings cache to this process`);
    });
    metrics.gauge('ballast_redis_connected', '1 while the shared-state Redis connection is ready (absent without REDIS_URL)', () =>
      client.status === 'ready' ? 1 : 0,
    );
    this.client = client;
    // Node keeps one list of timers per duration, made when its first timer is armed and dropped
    // (with its priority-queue entry) when its last is cleared. One request at a time, each
    // command's REDIS_TIMEOUT_MS timer did both: ~2-7 µs of ioredis's send and reply handling per
    // rate-limit call at c=1 (bench/experiments/redis-wake-timeline.mjs). An idle timer of the same
    // duration keeps the list, so a command's timer is a list append and its removal an unlink.
    // Unref'd: it never keeps the process alive.
    this.timerListKeeper = setInterval(() => undefined, timeoutMs).unref();
  }

  get configured(): boolean {
    return this.client !== undefined;
  }

  get connected(): boolean {
    return this.client?.status === 'ready';
  }

  /** Why the last connection attempt failed, while not connected. */
  get error(): string | undefined {
    return this.connected ? undefined : (this.lastError ?? this.client?.status);
  }

  /** One PING round trip in ms; rejects when Redis is down or slower than REDIS_TIMEOUT_MS. */
  async ping(): Promise<number> {
    if (this.client === undefined) throw new Error('REDIS_URL is not set');
    const started = performance.now();
    await this.client.ping();
    return performance.now() - started;
  }

  /** A Redis that is down at start does not stop the boot: the client keeps trying in the background. */
  async onModuleInit(): Promise<void> {
    await this.client?.connect().catch(() => undefined); // logged by the 'error' listener
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timerListKeeper);
    const client = this.client;
    if (client === undefined) return;
    if (client.status === 'ready') await client.quit().catch(() => undefined);
    client.disconnect();
  }
}
