import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { EmbeddingsModule } from '../embeddings/embeddings.module.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { CollectionEmbedder } from './collection-embedder.js';
import { CollectionsService } from './collections.service.js';
import { DocumentsService } from './documents.service.js';
import { KnownCollections } from './known-collections.js';
import { RetrievalController } from './retrieval.controller.js';
import { SearchService } from './search.service.js';
import { PgVectorStore } from './store/pg-vector.store.js';
import { StoreConnection } from './store/store-connection.js';
import { VectorStore } from './store/vector-store.js';

/**
 * Collections, documents and search over the vector store (the only module that speaks SQL).
 * Exports SearchService for grounded chat and StoreConnection's state for readiness.
 */
@Module({
  imports: [EmbeddingsModule],
  controllers: [RetrievalController],
  providers: [
    StoreConnection,
    {
      provide: VectorStore,
      inject: [StoreConnection, AppConfig, MetricsService],
      useFactory: (connection: StoreConnection, config: AppConfig, metrics: MetricsService) =>
        new PgVectorStore(connection, config.retrieval.hnsw, (operation, seconds, outcome) => metrics.vectorStoreDuration.series(operation, outcome).observe(seconds)),
    },
    CollectionsService,
    DocumentsService,
    SearchService,
    CollectionEmbedder,
    KnownCollections,
  ],
  exports: [SearchService, StoreConnection],
})
export class RetrievalModule {}
