import { Command, type Redis } from 'ioredis';
import rateLimiterFlexible from 'rate-limiter-flexible';
import type { IRateLimiterRedisOptions } from 'rate-limiter-flexible';

// A CommonJS package whose named exports Node's ESM loader cannot see statically.
const { RateLimiterRedis } = rateLimiterFlexible;

const ignore = (): void => undefined;

/**
 * MULTI and the commands it queues. Redis answers them at once with +OK/+QUEUED, nobody awaits
 * them, and EXEC's reply or failure (its REDIS_TIMEOUT_MS timer included) decides the call, so they
 * carry no timer and settle nothing: their replies are dropped instead of converted and resolved
 * into promises with a handler each (two of ioredis's per-command costs, paid 4 times a request).
 */
class QueuedCommand extends Command {
  constructor(name: string, args: string[] = []) {
    super(name, args);
    this.resolve = ignore;
    this.reject = ignore;
  }

  override setTimeout(): void {}
}

/** The parts of RateLimiterRedis's store contract this class takes over (not in its typings). */
type Upsert = (rlKey: string, points: number | string, msDuration: number, forceExpire?: boolean, options?: object) => Promise<unknown>;

/**
 * rate-limiter-flexible's Redis store with its per-request write, the Lua script
 * `SET key 0 EX d NX; INCRBY key n; PTTL key` (+ EXPIRE if the key had no TTL), sent as the same
 * commands in a MULTI/EXEC transaction instead: as atomic, the same fixed window and the same
 * [consumed, ms left] answer (test/e2e/rate-limiter-redis.e2e-spec.ts runs both side by side), in
 * one round trip and one write, on any Redis ≥ 2.6.12. Why: Redis spends ~12 µs on the script's
 * EVALSHA after an idle gap against ~5 for the transaction (INFO commandstats), and a paced round
 * trip from ioredis took 1.22-1.28× a PING with the script, ~0.9-1.0× with the transaction
 * (bench/experiments/redis-command-rtt.mjs). The commands go out as plain ioredis Commands, not
 * through `client.multi()`, whose Pipeline machinery cost more than the script (1.38-1.54× a PING).
 * Everything else (block, set, get, delete, the insurance limiter) is rate-limiter-flexible's own.
 */
export class RateLimiterRedisMulti extends RateLimiterRedis {
  private readonly redis: Redis;

  constructor(opts: IRateLimiterRedisOptions & { storeClient: Redis }) {
    super(opts);
    this.redis = opts.storeClient;
  }

  /** Called by rate-limiter-flexible for consume/penalty/reward (forceExpire false) and block/set (true). */
  _upsert(...args: Parameters<Upsert>): Promise<unknown> {
    const [rlKey, points, msDuration, forceExpire] = args;
    const secDuration = Math.floor(msDuration / 1000);
    if (forceExpire === true || secDuration <= 0 || !Number.isInteger(points)) {
      return (RateLimiterRedis.prototype as unknown as { _upsert: Upsert })._upsert.apply(this, args);
    }
    return this.incrementInWindow(rlKey, points as number, secDuration * 1000);
  }

  /** [points consumed in the window, ms until it ends], as the script answers. */
  private async incrementInWindow(key: string, points: number, windowMs: number): Promise<[number, number]> {
    const client = this.redis;
    // The replies before EXEC are +OK and +QUEUED; a failure of any (connection gone, timeout) fails EXEC too.
    const queued = [
      new QueuedCommand('multi'),
      new QueuedCommand('set', [key, '0', 'PX', String(windowMs), 'NX']),
      new QueuedCommand('incrby', [key, String(points)]),
      new QueuedCommand('pttl', [key]),
    ];
    for (const command of queued) void client.sendCommand(command);
    const replies = (await client.sendCommand(new Command('exec', [], { replyEncoding: 'utf8' }))) as [unknown, number, number] | null;
    if (!Array.isArray(replies)) throw new Error('Redis rate-limit transaction aborted');
    const [, consumed, ttl] = replies;
    // A command that failed inside the transaction (e.g. INCRBY on a key holding text): the script would have failed too.
    if (typeof consumed !== 'number' || typeof ttl !== 'number') throw replies.find((reply) => reply instanceof Error) ?? new Error('Redis rate-limit transaction: unexpected reply');
    if (ttl !== -1) return [consumed, ttl];
    // A key someone set without an expiry: give it the window, as the script does (the next request retries if this fails).
    client.pexpire(key, windowMs).catch(() => undefined);
    return [consumed, windowMs];
  }
}
