import { Module } from '@nestjs/common';
import { SseResponder } from '../common/sse/sse.responder.js';
import { EmbeddingsModule } from '../embeddings/embeddings.module.js';
import { LocalModelModule } from '../local-model/local-model.module.js';
import { UpstreamModule } from '../upstream/upstream.module.js';
import { OpenAiChatService } from './openai-chat.service.js';
import { OpenAiController } from './openai.controller.js';
import { OpenAiEmbeddingsService } from './openai-embeddings.service.js';
import { OpenAiModelsService } from './openai-models.service.js';

@Module({
  imports: [UpstreamModule, EmbeddingsModule, LocalModelModule],
  controllers: [OpenAiController],
  providers: [OpenAiChatService, OpenAiEmbeddingsService, OpenAiModelsService, SseResponder],
})
export class OpenAiModule {}
