import { Controller, Get, Header, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrorResponses } from '../common/http/api-error-responses.decorator.js';
import type { CheckedRequest } from '../common/http/request-context.decorator.js';
import { SseResponder } from '../common/sse/sse.responder.js';
import { OpenAiChatCompletionRequestDoc, OpenAiEmbeddingListDoc, OpenAiEmbeddingsRequestDoc, OpenAiModelListDoc } from './dto/openai-docs.dto.js';
import { OpenAiChatService } from './openai-chat.service.js';
import { OpenAiEmbeddingsService } from './openai-embeddings.service.js';
import { OpenAiModelsService } from './openai-models.service.js';

/** OpenAI's wire format, so the official SDKs work with `baseURL` pointed at ballast's `/v1`. */
@ApiTags('openai')
@ApiBearerAuth()
@ApiErrorResponses(400, 401, 413, 429, 502, 503, 504)
@Controller('v1')
export class OpenAiController {
  constructor(
    private readonly chat: OpenAiChatService,
    private readonly embeddings: OpenAiEmbeddingsService,
    private readonly models: OpenAiModelsService,
    private readonly sse: SseResponder,
  ) {}

  @Post('chat/completions')
  @ApiOperation({
    summary: 'OpenAI chat completions, plain or streamed',
    description:
      'Relayed to the upstream as sent (model defaulted to CHAT_MODEL). `stream: true` answers `text/event-stream` with the ' +
      "upstream's `chat.completion.chunk` events as they arrive, then `data: [DONE]`; `stream_options.include_usage` is honoured.",
  })
  @ApiBody({ type: OpenAiChatCompletionRequestDoc })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({ description: 'A `chat.completion` object, or the event stream' })
  async chatCompletions(@Req() call: CheckedRequest, @Res() reply: FastifyReply): Promise<void> {
    const ctx = call.ballast;
    const request = this.chat.check(call.body);
    if (request.stream) return this.sse.relay(reply, ctx, this.chat.stream(request, ctx));
    const completion = await this.chat.complete(request, ctx);
    await reply.code(200).type('application/json; charset=utf-8').send(completion);
  }

  @Post('embeddings')
  @HttpCode(200)
  @ApiOperation({ summary: 'OpenAI embeddings (batched, deduplicated, cached like /embeddings)' })
  @ApiBody({ type: OpenAiEmbeddingsRequestDoc })
  @ApiOkResponse({ type: OpenAiEmbeddingListDoc })
  @Header('content-type', 'application/json; charset=utf-8')
  createEmbeddings(@Req() call: CheckedRequest): Promise<Buffer> {
    return this.embeddings.create(call.body, call.ballast);
  }

  @Get('models')
  @ApiOperation({ summary: "The upstream's models and the local classifier model" })
  @ApiOkResponse({ type: OpenAiModelListDoc })
  listModels(@Req() call: CheckedRequest): Promise<OpenAiModelListDoc> {
    return this.models.list(call.ballast);
  }
}
