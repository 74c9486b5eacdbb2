import { Global, Module } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service.js';
import { RedisConnection } from './redis.connection.js';
import { RedisSharedCache } from './redis-shared-cache.js';
import { NoSharedCache, SharedCache } from './shared-cache.port.js';

/**
 * State shared by every instance of ballast (REDIS_URL), or kept in process without it. Owns the one
 * Redis client; the capabilities that share state take the client (rate limits) or the SharedCache
 * port (the embeddings cache's second tier) from here, and never know which adapter answers.
 */
@Global()
@Module({
  providers: [
    RedisConnection,
    {
      provide: SharedCache,
      inject: [RedisConnection, MetricsService],
      useFactory: (redis: RedisConnection, metrics: MetricsService): SharedCache =>
        redis.client === undefined ? new NoSharedCache() : new RedisSharedCache(redis.client, metrics.sharedCacheLookups),
    },
  ],
  exports: [RedisConnection, SharedCache],
})
export class SharedStateModule {}
