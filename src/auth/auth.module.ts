import { DynamicModule, Module, Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AppConfig, parseKeys } from '../config/app-config.js';
import type { EnvironmentSchema } from '../config/environment.schema.js';
import { ApiKeyGuard } from './api-key.guard.js';
import { RedisConnection } from '../shared-state/redis.connection.js';
import { RATE_LIMITER, RateLimitGuard } from './rate-limit.guard.js';
import { createRateLimiter } from './rate-limiter.factory.js';

/**
 * API keys and per-key rate limits, as global guards, in that order. A guard that is switched off
 * (no API_KEYS, RATE_LIMIT_RPM=0) is not registered at all, so it costs nothing per request.
 * Counters live in rate-limiter-flexible's in-memory store, or in Redis when REDIS_URL is set, so
 * that every instance counts against the same limit (rate-limiter.factory.ts).
 */
@Module({})
export class AuthModule {
  static forRoot(env: EnvironmentSchema): DynamicModule {
    const providers: Provider[] = [];
    if (parseKeys(env.API_KEYS).length > 0) providers.push({ provide: APP_GUARD, useClass: ApiKeyGuard });
    const rpm = env.RATE_LIMIT_RPM;
    if (rpm > 0) {
      providers.push({
        provide: RATE_LIMITER,
        inject: [AppConfig, RedisConnection],
        useFactory: (config: AppConfig, redis: RedisConnection) => createRateLimiter(rpm, config.access.rateLimitInstances, redis.client),
      });
      providers.push({ provide: APP_GUARD, useClass: RateLimitGuard });
    }
    return { module: AuthModule, providers };
  }
}
