import { Injectable } from '@nestjs/common';
import { RequestContext } from '../common/http/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { UpstreamFailureError } from '../upstream/errors/upstream-failure.error.js';
import { malformedUpstreamResponse } from '../upstream/upstream-error.mapper.js';
import { UpstreamClient, UpstreamEventStream } from '../upstream/upstream.client.js';
import { ChatRequestDto } from './dto/chat-request.dto.js';
import { ChatDeltaDto, ChatResponseDto, UsageDto } from './dto/chat-response.dto.js';

interface CompletionBody {
  model?: unknown;
  choices?: Array<{ message?: { content?: unknown } }>;
  usage?: UsageDto;
}

interface ChunkBody {
  choices?: Array<{ delta?: { content?: unknown } }>;
  error?: { message?: unknown };
}

@Injectable()
export class ChatService {
  constructor(
    private readonly upstream: UpstreamClient,
    private readonly config: AppConfig,
  ) {}

  async complete(dto: ChatRequestDto, ctx: RequestContext): Promise<ChatResponseDto> {
    const body = await this.upstream.postJson<CompletionBody>('/chat/completions', this.upstreamBody(dto, false), ctx);
    const message = Array.isArray(body?.choices) ? body.choices[0]?.message : undefined;
    if (!message) throw malformedUpstreamResponse('no choices[0].message in the completion');
    // content is null when the model answers with tool calls only; we relay that as empty text.
    const content = message.content ?? '';
    if (typeof content !== 'string') throw malformedUpstreamResponse('choices[0].message.content is not a string');
    const model = typeof body.model === 'string' ? body.model : this.modelFor(dto);
    return body.usage ? { content, model, usage: body.usage } : { content, model };
  }

  /** Resolves when the upstream has accepted the stream; then yields one delta per upstream token. */
  async stream(dto: ChatRequestDto, ctx: RequestContext): Promise<AsyncIterable<ChatDeltaDto>> {
    const events = await this.upstream.postStream('/chat/completions', this.upstreamBody(dto, true), ctx);
    return this.deltas(events);
  }

  private async *deltas(events: UpstreamEventStream): AsyncGenerator<ChatDeltaDto> {
    for await (const data of events) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(data);
      } catch {
        throw malformedUpstreamResponse('a stream event is not valid JSON');
      }
      if (!parsed || typeof parsed !== 'object') throw malformedUpstreamResponse('a stream event is not a JSON object');
      const chunk = parsed as ChunkBody;
      if (chunk.error) {
        const detail = typeof chunk.error.message === 'string' ? `: ${chunk.error.message.slice(0, 500)}` : '';
        throw new UpstreamFailureError(`The upstream reported an error mid-stream${detail}`, 'upstream_stream_error');
      }
      const content = Array.isArray(chunk.choices) ? chunk.choices[0]?.delta?.content : undefined;
      if (typeof content === 'string' && content.length > 0) yield { content };
    }
  }

  private upstreamBody(dto: ChatRequestDto, stream: boolean): Record<string, unknown> {
    const body: Record<string, unknown> = { model: this.modelFor(dto), messages: dto.messages };
    if (dto.temperature !== undefined) body.temperature = dto.temperature;
    if (dto.max_tokens !== undefined) body.max_tokens = dto.max_tokens;
    if (stream) body.stream = true;
    return body;
  }

  private modelFor(dto: ChatRequestDto): string {
    return dto.model ?? this.config.chat.defaultModel;
  }
}
