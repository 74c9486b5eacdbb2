import { Injectable } from '@nestjs/common';
import { RequestContext } from '../common/http/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { malformedUpstreamResponse } from '../upstream/upstream-error.mapper.js';
import { UpstreamClient } from '../upstream/upstream.client.js';
import { ChatCompletionRequest, checkChatCompletion } from './openai-request.js';

/**
 * `/v1/chat/completions` is a faithful relay: the client's body goes upstream as sent (model filled
 * in, our key instead of theirs), and the upstream's answer, or its stream events, come back as the
 * upstream wrote them, so every field and every future parameter works.
 */
@Injectable()
export class OpenAiChatService {
  constructor(
    private readonly upstream: UpstreamClient,
    private readonly config: AppConfig,
  ) {}

  check(body: unknown): ChatCompletionRequest {
    return checkChatCompletion(body, this.config.chat.defaultModel);
  }

  /**
   * The upstream's `chat.completion` as JSON text, byte for byte as it arrived (checked to be a
   * JSON object first): a parse and a re-serialisation would rewrite numbers (`1.0` → `1`) and
   * escapes, and cost a JSON.stringify per call.
   */
  async complete(request: ChatCompletionRequest, ctx: RequestContext): Promise<string> {
    const answer = await this.upstream.postJsonText('/chat/completions', request.body, ctx);
    if (typeof answer.value !== 'object' || answer.value === null || Array.isArray(answer.value)) {
      throw malformedUpstreamResponse('the chat completion is not a JSON object');
    }
    return answer.text;
  }

  /** Resolves once the upstream accepted the stream; yields its `data:` payloads untouched. */
  stream(request: ChatCompletionRequest, ctx: RequestContext): Promise<AsyncIterable<string>> {
    return this.upstream.postStream('/chat/completions', request.body, ctx);
  }
}
