import type { Redis } from 'ioredis';
import rateLimiterFlexible from 'rate-limiter-flexible';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimiterRedisMulti } from './rate-limiter-redis-multi.js';

// A CommonJS package whose named exports Node's ESM loader cannot see statically.
const { RateLimiterMemory } = rateLimiterFlexible;

export const RATE_LIMIT_WINDOW_S = 60;
/** Redis keys: `ballast:rl:key:<key id>` or `ballast:rl:ip:<address>`. */
export const RATE_LIMIT_KEY_PREFIX = 'ballast:rl';

/** What each instance allows on its own while the shared counters are unreachable. */
export function perInstanceShare(rpm: number, instances: number): number {
  return Math.max(1, Math.floor(rpm / instances));
}

/**
 * The RATE_LIMITER store. Without Redis: counters in memory. With Redis: rate-limiter-flexible's
 * Redis store (one atomic transaction per request, one round trip: rate-limiter-redis-multi.ts),
 * shared by every instance; when a call fails (Redis down, or slower than REDIS_TIMEOUT_MS) its
 * insurance limiter answers instead, counting in memory to this instance's share of the limit, so
 * requests are never refused because Redis is away.
 */
export function createRateLimiter(rpm: number, instances: number, redis: Redis | undefined): RateLimiterAbstract {
  if (redis === undefined) return new RateLimiterMemory({ points: rpm, duration: RATE_LIMIT_WINDOW_S });
  return new RateLimiterRedisMulti({
    storeClient: redis,
    keyPrefix: RATE_LIMIT_KEY_PREFIX,
    points: rpm,
    duration: RATE_LIMIT_WINDOW_S,
    insuranceLimiter: new RateLimiterMemory({ keyPrefix: `${RATE_LIMIT_KEY_PREFIX}:insurance`, points: perInstanceShare(rpm, instances), duration: RATE_LIMIT_WINDOW_S }),
  });
}
