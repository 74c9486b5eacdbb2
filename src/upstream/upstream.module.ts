import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { UpstreamClient } from './upstream.client.js';

@Module({
  imports: [HttpModule],
  providers: [UpstreamClient],
  exports: [UpstreamClient],
})
export class UpstreamModule {}
