import { Global, Module } from '@nestjs/common';
import { RedisConnection } from './redis.connection.js';

/**
 * State shared by every instance of ballast (REDIS_URL), or kept in process without it. Owns the one
 * Redis client; the capabilities that share state (rate limits, the embeddings cache) take it from here.
 */
@Global()
@Module({ providers: [RedisConnection], exports: [RedisConnection] })
export class SharedStateModule {}
