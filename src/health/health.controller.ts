import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/public.decorator.js';
import { HealthService } from './health.service.js';
import { ReadinessService } from './readiness.service.js';
import type { ReadinessReport } from './readiness.service.js';

export class HealthDto {
  @ApiProperty({ example: 'ok' }) status!: 'ok';
  @ApiProperty({ description: 'Seconds since the process started', example: 42.1 }) uptime!: number;
}

const READY_EXAMPLE: ReadinessReport = {
  status: 'ready',
  model: { state: 'ready', name: 'lexicon-sentiment', fallback: true, queued: 0, batchesInFlight: 0, threads: 1, workerRestarts: 0 },
  upstream: { configured: true },
  upstreams: [{ name: 'default', baseUrl: 'https://api.openai.com/v1', configured: true, breaker: 'closed' }],
  draining: false,
};

@ApiTags('health')
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthService,
    private readonly readiness: ReadinessService,
  ) {}

  @Get('health')
  @ApiOperation({ summary: 'Liveness: answers fast, checks no dependency' })
  @ApiOkResponse({ type: HealthDto })
  live(): HealthDto {
    return this.health.live();
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: 200 while a model can serve, 503 (with the reason) while none can' })
  @ApiOkResponse({ description: 'Ready', content: { 'application/json': { example: READY_EXAMPLE } } })
  @ApiServiceUnavailableResponse({ description: 'Not ready: model loading or unavailable; `reason` says why' })
  ready(@Res({ passthrough: true }) reply: FastifyReply): ReadinessReport {
    const report = this.readiness.check();
    if (report.status !== 'ready') void reply.status(503);
    return report;
  }
}
