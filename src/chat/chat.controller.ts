import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrorResponses } from '../common/http/api-error-responses.decorator.js';
import type { CheckedRequest } from '../common/http/request-context.decorator.js';
import { SseResponder } from '../common/sse/sse.responder.js';
import { ChatService } from './chat.service.js';
import { ChatRequestDto } from './dto/chat-request.dto.js';
import { CHAT_REQUEST_SCHEMA } from './dto/chat-request.schema.js';
import { ChatResponseDto } from './dto/chat-response.dto.js';

/**
 * The request whose body the route schema (CHAT_REQUEST_SCHEMA) has checked: compiled ajv instead of
 * class-validator, which on this route cost more than the rest of Nest's request pipeline.
 */
type ChatCall = CheckedRequest<Pick<ChatRequestDto, keyof ChatRequestDto>>;

@ApiTags('chat')
@ApiBearerAuth()
@ApiErrorResponses(400, 401, 413, 429, 502, 503, 504)
@Controller('chat')
export class ChatController {
  constructor(
    private readonly chat: ChatService,
    private readonly sse: SseResponder,
  ) {}

  @Post('complete')
  @HttpCode(200)
  @ApiOperation({ summary: 'Whole answer from the configured OpenAI-compatible upstream' })
  @ApiBody({ type: ChatRequestDto })
  @ApiResponse({ status: 200, type: ChatResponseDto })
  @RouteSchema({ body: CHAT_REQUEST_SCHEMA })
  complete(@Req() call: ChatCall): Promise<ChatResponseDto> {
    return this.chat.complete(call.body, call.ballast);
  }

  @Post('stream')
  @ApiOperation({
    summary: 'The answer as Server-Sent Events while tokens arrive',
    description:
      'One `data: {"content":"..."}` event per delta, then `data: [DONE]`. With `retrieval`, a first event ' +
      '`data: {"sources":[...]}` (and `retrieval_fallback` when the passages came from text search alone). A failure after the ' +
      'stream opened ends it with `event: error` and `data: {"error":{...}}`. `: ping` comments keep idle connections open.',
  })
  @ApiBody({ type: ChatRequestDto })
  @ApiProduces('text/event-stream')
  @RouteSchema({ body: CHAT_REQUEST_SCHEMA })
  @ApiResponse({
    status: 200,
    description: 'text/event-stream',
    content: { 'text/event-stream': { example: 'data: {"content":"Hel"}\n\ndata: {"content":"lo"}\n\ndata: [DONE]\n\n' } },
  })
  stream(@Req() call: ChatCall, @Res() reply: FastifyReply): Promise<void> {
    return this.sse.send(reply, call.ballast, this.chat.stream(call.body, call.ballast));
  }
}
