import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { RetryBudget } from './retry-budget.js';
import { UpstreamClient } from './upstream.client.js';
import { UpstreamRouter } from './upstream.router.js';

@Module({
  imports: [HttpModule],
  providers: [
    UpstreamClient,
    UpstreamRouter,
    // One budget for the whole process: retries are bounded by its traffic, not per request.
    { provide: RetryBudget, useFactory: (config: AppConfig) => new RetryBudget(config.upstream.retryBudget), inject: [AppConfig] },
  ],
  exports: [UpstreamClient, UpstreamRouter, RetryBudget],
})
export class UpstreamModule {}
