import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { UpstreamClient } from './upstream.client.js';
import { UpstreamRouter } from './upstream.router.js';

@Module({
  imports: [HttpModule],
  providers: [UpstreamClient, UpstreamRouter],
  exports: [UpstreamClient, UpstreamRouter],
})
export class UpstreamModule {}
