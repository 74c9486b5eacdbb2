import { Module } from '@nestjs/common';
import { SseResponder } from '../common/sse/sse.responder.js';
import { RetrievalModule } from '../retrieval/retrieval.module.js';
import { UpstreamModule } from '../upstream/upstream.module.js';
import { ChatController } from './chat.controller.js';
import { ChatService } from './chat.service.js';

@Module({
  imports: [UpstreamModule, RetrievalModule],
  controllers: [ChatController],
  providers: [ChatService, SseResponder],
})
export class ChatModule {}
