import { Module } from '@nestjs/common';
import { UpstreamModule } from '../upstream/upstream.module.js';
import { EmbeddingSharedTier } from './embedding-shared.tier.js';
import { EmbeddingCache } from './embedding.cache.js';
import { EmbeddingsController } from './embeddings.controller.js';
import { EmbeddingsService } from './embeddings.service.js';
import { EmbeddingsUpstream } from './embeddings.upstream.js';

@Module({
  imports: [UpstreamModule],
  controllers: [EmbeddingsController],
  providers: [EmbeddingsService, EmbeddingCache, EmbeddingSharedTier, EmbeddingsUpstream],
  exports: [EmbeddingsService],
})
export class EmbeddingsModule {}
