import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/public.decorator.js';
import { HealthService } from './health.service.js';
import { ReadinessService } from './readiness.service.js';

export class HealthDto {
  @ApiProperty({ example: 'ok' }) status!: 'ok';
  @ApiProperty({ description: 'Seconds since the process started', example: 42.1 }) uptime!: number;
}

const READY_EXAMPLE = {
  status: 'ok',
  info: {},
  error: {},
  details: {
    model: { status: 'up', name: 'lexicon-sentiment', fallback: true },
    classifier_queue: { status: 'up', queued: 0, limit: 1024, batchesInFlight: 0, threads: 1, workerRestarts: 0 },
    upstream: {
      status: 'up',
      configured: true,
      upstreams: [{ name: 'default', baseUrl: 'https://api.openai.com/v1', configured: true, breaker: 'closed', reachable: true }],
      retryBudget: { available: 14, requests: 20, retries: 0, ratio: 0.2, minPerSecond: 1, windowMs: 10000 },
    },
    redis: { status: 'up', configured: true, connected: true, degraded: false, roundTripMs: 0.21 },
    vector_store: { status: 'up', state: 'up', backend: 'embedded', available: true },
    lifecycle: { status: 'up', draining: false },
  },
};

@ApiTags('health')
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthService,
    private readonly checks: HealthCheckService,
    private readonly readiness: ReadinessService,
  ) {}

  @Get('health')
  @ApiOperation({ summary: 'Liveness: answers fast, checks no dependency' })
  @ApiOkResponse({ type: HealthDto })
  live(): HealthDto {
    return this.health.live();
  }

  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'Readiness (@nestjs/terminus): 200 while this instance can serve, 503 naming the part that cannot' })
  @ApiOkResponse({ description: 'Ready: every part up', content: { 'application/json': { example: READY_EXAMPLE } } })
  @ApiServiceUnavailableResponse({ description: 'Not ready: `error` names the failing parts (model, classifier_queue, upstream, lifecycle) and why; an unreachable Redis is reported (redis.degraded) but does not fail readiness; `vector_store` reports the retrieval store (state up, opening, down or off) without failing readiness either: a store that is down fails only the retrieval routes' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    try {
      return await this.checks.check([
        () => this.readiness.model(),
        () => this.readiness.queue(),
        () => this.readiness.upstreams(),
        () => this.readiness.sharedState(),
        () => this.readiness.vectorStore(),
        () => this.readiness.lifecycle(),
      ]);
    } catch (error) {
      // Terminus reports "not ready" as a 503 exception carrying the full result: answer it as is.
      if (!(error instanceof ServiceUnavailableException)) throw error;
      void reply.status(503);
      return error.getResponse() as HealthCheckResult;
    }
  }
}
