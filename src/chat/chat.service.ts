import { Injectable } from '@nestjs/common';
import { RequestContext } from '../common/http/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { UpstreamFailureError } from '../upstream/errors/upstream-failure.error.js';
import { malformedUpstreamResponse } from '../upstream/upstream-error.mapper.js';
import { UpstreamClient } from '../upstream/upstream.client.js';
import { InvalidRequestError } from '../common/errors/index.js';
import { SearchService } from '../retrieval/search.service.js';
import { SearchFallbackDto } from '../retrieval/dto/search.dto.js';
import { ChatMessageDto } from './dto/chat-message.dto.js';
import { ChatRequestDto } from './dto/chat-request.dto.js';
import { ChatDeltaDto, ChatResponseDto, ChatSourceDto, ChatSourcesEventDto, UsageDto } from './dto/chat-response.dto.js';
import { groundingMessage, withGrounding } from './grounding.js';

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
    private readonly search: SearchService,
  ) {}

  async complete(dto: ChatRequestDto, ctx: RequestContext): Promise<ChatResponseDto> {
    const grounded = await this.ground(dto, ctx);
    const body = await this.upstream.postJson<CompletionBody>('/chat/completions', this.upstreamBody(dto, grounded.messages, false), ctx);
    const message = Array.isArray(body?.choices) ? body.choices[0]?.message : undefined;
    if (!message) throw malformedUpstreamResponse('no choices[0].message in the completion');
    // content is null when the model answers with tool calls only; we relay that as empty text.
    const content = message.content ?? '';
    if (typeof content !== 'string') throw malformedUpstreamResponse('choices[0].message.content is not a string');
    const model = typeof body.model === 'string' ? body.model : this.modelFor(dto);
    const response: ChatResponseDto = body.usage ? { content, model, usage: body.usage } : { content, model };
    if (grounded.sources) response.sources = grounded.sources;
    if (grounded.fallback) response.retrieval_fallback = grounded.fallback;
    return response;
  }

  /**
   * Resolves when the upstream has accepted the stream; then yields one delta per upstream token
   * (with `retrieval`, the sources first, in one event).
   */
  async stream(dto: ChatRequestDto, ctx: RequestContext): Promise<AsyncIterable<ChatDeltaDto | ChatSourcesEventDto>> {
    const grounded = await this.ground(dto, ctx);
    const deltas = await this.upstream.postStream('/chat/completions', this.upstreamBody(dto, grounded.messages, true), ctx, deltaOf);
    if (!grounded.sources) return deltas;
    const event: ChatSourcesEventDto = { sources: grounded.sources };
    if (grounded.fallback) event.retrieval_fallback = grounded.fallback;
    return withFirst(event, deltas);
  }

  /** With `retrieval`: passages for the last user message, searched through retrieval's SearchService. */
  private async ground(dto: ChatRequestDto, ctx: RequestContext): Promise<{ messages: ChatMessageDto[]; sources?: ChatSourceDto[]; fallback?: SearchFallbackDto }> {
    const retrieval = dto.retrieval;
    if (!retrieval) return { messages: dto.messages };
    const question = dto.messages.findLast((m) => m.role === 'user');
    if (!question || question.content.trim().length === 0) {
      throw new InvalidRequestError('retrieval needs a non-empty user message to search with', { param: 'messages' });
    }
    const query: Parameters<SearchService['search']>[1] = { query: question.content, filter: retrieval.filter };
    if (retrieval.top_k !== undefined && retrieval.top_k !== null) query.top_k = retrieval.top_k;
    const found = await this.search.search(retrieval.collection, query, ctx, 'retrieval.');
    const sources = found.results.map(({ id, chunk, score, metadata }) => ({ id, chunk, score, metadata }));
    return { messages: withGrounding(dto.messages, groundingMessage(found.results)), sources, fallback: found.fallback };
  }

  private upstreamBody(dto: ChatRequestDto, messages: ChatMessageDto[], stream: boolean): Record<string, unknown> {
    const body: Record<string, unknown> = { model: this.modelFor(dto), messages };
    if (dto.temperature !== undefined) body.temperature = dto.temperature;
    if (dto.max_tokens !== undefined) body.max_tokens = dto.max_tokens;
    if (stream) body.stream = true;
    return body;
  }

  private modelFor(dto: ChatRequestDto): string {
    return dto.model ?? this.config.chat.defaultModel;
  }
}

/**
 * The delta in one upstream event (`choices[0].delta.content`), or undefined for an event without
 * text (the role, the finish, usage). Runs inside the upstream's event loop (no async layer of its own).
 */
function deltaOf(data: string): ChatDeltaDto | undefined {
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
  return typeof content === 'string' && content.length > 0 ? { content } : undefined;
}

/** `first`, then everything `rest` yields (a grounded stream's sources before its deltas). */
async function* withFirst<F, T>(first: F, rest: AsyncIterable<T>): AsyncGenerator<F | T> {
  yield first;
  yield* rest;
}
