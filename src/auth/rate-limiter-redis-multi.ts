import { Command, type Redis } from 'ioredis';
import rateLimiterFlexible from 'rate-limiter-flexible';
import type { IRateLimiterRedisOptions, RateLimiterAbstract, RateLimiterRes as RateLimiterState } from 'rate-limiter-flexible';
import { encodeWindowTransaction, windowTransactionParts, type WindowTransactionParts } from './window-transaction.js';

// A CommonJS package whose named exports Node's ESM loader cannot see statically.
const { RateLimiterRedis } = rateLimiterFlexible;

const ignore = (): void => undefined;

/**
 * The reply slot of MULTI and of each command it queues. Redis answers them at once with
 * +OK/+QUEUED, nobody awaits them, and EXEC's reply or failure (its REDIS_TIMEOUT_MS timer included)
 * decides the call, so a slot carries no timer and settles nothing (its reply or the connection's
 * failure is dropped): one object serves every slot of every transaction.
 */
class ReplySlot extends Command {
  constructor() {
    super('multi');
    this.resolve = ignore;
    this.reject = ignore;
  }

  override setTimeout(): void {}
}
const REPLY_SLOT = new ReplySlot();
/** MULTI, SET, INCRBY, PTTL: the replies before EXEC's. */
const SLOTS_BEFORE_EXEC = 4;

/**
 * EXEC, written with the whole transaction in front of it: ioredis sends it as one command (one
 * write, one queue entry, one timer), and its reply is taken as Redis sends it (no conversion).
 */
class TransactionCommand extends Command {
  constructor(private readonly payload: string) {
    super('exec');
  }

  override toWritable(): string {
    return this.payload;
  }

  override transformReply(result: Buffer | Buffer[]): Buffer | Buffer[] {
    return result;
  }
}

/**
 * Whether ioredis writes a command again after a reconnect when its reply never came: unless
 * maxRetriesPerRequest is 0 (the queue is failed at every close) or autoResendUnfulfilledCommands is
 * off. A resent transaction would be written twice and its reply slots as stray MULTIs. Ballast's
 * client (redis.connection.ts) resends nothing.
 */
export function resendsAfterReconnect(client: Redis): boolean {
  const { autoResendUnfulfilledCommands, maxRetriesPerRequest } = client.options;
  return autoResendUnfulfilledCommands !== false && maxRetriesPerRequest !== 0;
}

/** The parts of RateLimiterRedis's store contract this class takes over (not in its typings). */
type Upsert = (rlKey: string, points: number | string, msDuration: number, forceExpire?: boolean, options?: object) => Promise<unknown>;
/** What the library's own consume() reads besides the store (set in its constructor; blockDuration and execEvenly are typed). */
interface LimiterInternals {
  inMemoryBlockOnConsumed: number;
  insuranceLimiter: RateLimiterAbstract | undefined;
  _getRateLimiterRes(rlKey: string, changedPoints: number, result: [number, number]): RateLimiterState;
}

/**
 * rate-limiter-flexible's Redis store with its per-request write, the Lua script
 * `SET key 0 EX d NX; INCRBY key n; PTTL key` (+ EXPIRE if the key had no TTL), sent as the same
 * commands in a MULTI/EXEC transaction instead: as atomic, the same fixed window and the same
 * [consumed, ms left] answer (test/e2e/rate-limiter-redis.e2e-spec.ts runs both side by side), in
 * one round trip and one write, on any Redis ≥ 2.6.12. Why: Redis spends ~12 µs on the script's
 * EVALSHA after an idle gap against ~5 for the transaction (INFO commandstats), and a paced round
 * trip from ioredis took 1.22-1.28× a PING with the script, ~0.9-1.0× with the transaction
 * (bench/experiments/redis-command-rtt.mjs). Not through `client.multi()`, whose Pipeline
 * machinery cost more than the script (1.38-1.54× a PING), and not as five ioredis Commands either:
 * the transaction is encoded once, in RESP, and handed to ioredis as EXEC, with reply slots for the
 * four answers before it (window-transaction.ts; docs/benchmarks.md, Shared state, for what it saves).
 * A plain consume() (no options; no block, in-memory block or execEvenly) answers in one promise
 * step from EXEC's reply, as the library's own would after four; everything else (block, set, get,
 * delete, the insurance limiter) is rate-limiter-flexible's own, and so is everything with a client
 * that would resend unanswered commands after a reconnect (see resendsAfterReconnect).
 */
export class RateLimiterRedisMulti extends RateLimiterRedis {
  private readonly redis: Redis;
  private readonly checksReadiness: boolean;
  /** False for a client that would resend unanswered commands after a reconnect: then the library's own script does the work. */
  private readonly encodesTransactions: boolean;
  private parts: WindowTransactionParts | undefined;

  constructor(opts: IRateLimiterRedisOptions & { storeClient: Redis }) {
    super(opts);
    this.redis = opts.storeClient;
    this.checksReadiness = opts.rejectIfRedisNotReady === true;
    this.encodesTransactions = !resendsAfterReconnect(opts.storeClient);
  }

  override consume(key: string | number, pointsToConsume = 1, options?: { [key: string]: unknown }): Promise<RateLimiterState> {
    const internals = this as unknown as LimiterInternals;
    const windowMs = Math.floor(this.duration) * 1000;
    if (
      options !== undefined ||
      !Number.isInteger(pointsToConsume) ||
      windowMs <= 0 ||
      this.blockDuration > 0 ||
      this.execEvenly ||
      internals.inMemoryBlockOnConsumed > 0 ||
      this.checksReadiness ||
      !this.encodesTransactions
    ) {
      return super.consume(key, pointsToConsume, options);
    }
    const rlKey = this.getKey(key);
    // Store failures go to the insurance limiter, as in the library's consume(); a 429 does not.
    const insure = (error: unknown): Promise<RateLimiterState> => {
      const insurance = internals.insuranceLimiter;
      if (insurance === undefined) throw error;
      return insurance.consume(key, pointsToConsume);
    };
    return this.sendTransaction(rlKey, pointsToConsume, windowMs).then((replies) => {
      let result: [number, number];
      try {
        result = this.windowAnswer(rlKey, replies, windowMs);
      } catch (error) {
        return insure(error);
      }
      const state = internals._getRateLimiterRes(rlKey, pointsToConsume, result);
      if (state.consumedPoints > this.points) throw state;
      return state;
    }, insure);
  }

  /** Called by rate-limiter-flexible for consume/penalty/reward (forceExpire false) and block/set (true). */
  _upsert(...args: Parameters<Upsert>): Promise<unknown> {
    const [rlKey, points, msDuration, forceExpire] = args;
    const secDuration = Math.floor(msDuration / 1000);
    if (forceExpire === true || secDuration <= 0 || !Number.isInteger(points) || !this.encodesTransactions) {
      return (RateLimiterRedis.prototype as unknown as { _upsert: Upsert })._upsert.apply(this, args);
    }
    return this.incrementInWindow(rlKey, points as number, secDuration * 1000);
  }

  /** [points consumed in the window, ms until it ends], as the script answers. */
  private incrementInWindow(key: string, points: number, windowMs: number): Promise<[number, number]> {
    return this.sendTransaction(key, points, windowMs).then((replies) => this.windowAnswer(key, replies, windowMs));
  }

  /** Writes the transaction; resolves with EXEC's reply. */
  private sendTransaction(key: string, points: number, windowMs: number): Promise<unknown> {
    const client = this.redis;
    if (this.parts?.windowMs !== windowMs) this.parts = windowTransactionParts(windowMs);
    const exec = new TransactionCommand(encodeWindowTransaction(this.parts, key, points));
    const sent = client.sendCommand(exec) as Promise<unknown>;
    // Written (not refused at once: Redis down, no offline queue): give MULTI, SET, INCRBY and PTTL
    // their reply slots ahead of EXEC's entry. Nothing can be read before this returns.
    const queue = client.commandQueue;
    const item = queue.peekBack();
    if (item !== undefined && item.command === exec) {
      queue.pop();
      for (let i = 0; i < SLOTS_BEFORE_EXEC; i++) queue.push({ command: REPLY_SLOT, stream: item.stream, select: item.select });
      queue.push(item);
    }
    return sent;
  }

  /** EXEC's reply read as [consumed, ms left]; throws what failed inside the transaction. */
  private windowAnswer(key: string, replies: unknown, windowMs: number): [number, number] {
    if (!Array.isArray(replies)) throw new Error('Redis rate-limit transaction aborted');
    const consumed: unknown = replies[1];
    const ttl: unknown = replies[2];
    // A command that failed inside the transaction (e.g. INCRBY on a key holding text): the script would have failed too.
    if (typeof consumed !== 'number' || typeof ttl !== 'number') {
      throw replies.find((reply) => reply instanceof Error) ?? new Error('Redis rate-limit transaction: unexpected reply');
    }
    if (ttl !== -1) return [consumed, ttl];
    // A key someone set without an expiry: give it the window, as the script does (the next request retries if this fails).
    this.redis.pexpire(key, windowMs).catch(() => undefined);
    return [consumed, windowMs];
  }
}
