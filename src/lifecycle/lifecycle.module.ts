import { Global, Module } from '@nestjs/common';
import { DrainService } from './drain.service.js';
import { RequestTracker } from './request-tracker.js';

@Global()
@Module({ providers: [RequestTracker, DrainService], exports: [RequestTracker] })
export class LifecycleModule {}
