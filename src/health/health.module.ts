import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { LocalModelModule } from '../local-model/local-model.module.js';
import { UpstreamModule } from '../upstream/upstream.module.js';
import { RetrievalModule } from '../retrieval/retrieval.module.js';
import { HealthController } from './health.controller.js';
import { HealthService } from './health.service.js';
import { ReadinessService } from './readiness.service.js';

@Module({ imports: [TerminusModule.forRoot({ logger: false }), LocalModelModule, UpstreamModule, RetrievalModule], controllers: [HealthController], providers: [HealthService, ReadinessService] })
export class HealthModule {}
