import { jest } from '@jest/globals';
import { ApiError, NotConfiguredError } from '../common/errors/index.js';
import { RequestContext } from '../common/http/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { validateEnvironment } from '../config/environment.loader.js';
import { UpstreamFailureError } from '../upstream/errors/upstream-failure.error.js';
import { UpstreamClient, UpstreamEventStream } from '../upstream/upstream.client.js';
import { SearchService } from '../retrieval/search.service.js';
import { ChatService } from './chat.service.js';
import { ChatDeltaDto, ChatSourcesEventDto } from './dto/chat-response.dto.js';
import { ChatRequestDto } from './dto/chat-request.dto.js';

type PostJson = (path: string, body: unknown, ctx: RequestContext) => Promise<unknown>;
type Search = SearchService['search'];
type PostStream = (path: string, body: unknown, ctx: RequestContext) => Promise<UpstreamEventStream>;

/**
 * `postStream` answers the payloads a test gives it, passed through the caller's `map` as
 * UpstreamClient does (undefined skips; a throw ends the stream; stopping early closes the source).
 */
function fakeUpstream(): { upstream: UpstreamClient; postJson: jest.Mock<PostJson>; postStream: jest.Mock<PostStream> } {
  const postJson = jest.fn<PostJson>();
  const postStream = jest.fn<PostStream>();
  const mapped = async function* <T>(source: UpstreamEventStream, map: (data: string) => T | undefined): AsyncGenerator<T> {
    for await (const data of source) {
      const value = map(data);
      if (value !== undefined) yield value;
    }
  };
  const upstream = {
    postJson,
    postStream: async <T>(path: string, body: unknown, ctx: RequestContext, map: (data: string) => T | undefined) => mapped(await postStream(path, body, ctx), map),
  };
  return { upstream: upstream as unknown as UpstreamClient, postJson, postStream };
}

function request(overrides: Partial<ChatRequestDto> = {}): ChatRequestDto {
  return Object.assign(new ChatRequestDto(), { messages: [{ role: 'user', content: 'Say hello.' }] }, overrides);
}

async function* events(...data: string[]): AsyncGenerator<string> {
  for (const item of data) yield item;
}

async function collect(source: AsyncIterable<ChatDeltaDto | ChatSourcesEventDto>): Promise<string[]> {
  const out: string[] = [];
  for await (const delta of source) out.push('content' in delta ? delta.content : JSON.stringify(delta));
  return out;
}

const chunk = (content: unknown): string => JSON.stringify({ choices: [{ index: 0, delta: { content } }] });

describe(ChatService.name, () => {
  const config = new AppConfig(validateEnvironment({}));
  let upstream: UpstreamClient;
  let postJson: jest.Mock<PostJson>;
  let postStream: jest.Mock<PostStream>;
  let service: ChatService;
  let search: jest.Mock<Search>;
  let ctx: RequestContext;

  beforeEach(() => {
    ({ upstream, postJson, postStream } = fakeUpstream());
    search = jest.fn<Search>();
    service = new ChatService(upstream, config, { search } as unknown as SearchService);
    ctx = RequestContext.detached();
  });

  describe('upstream request body', () => {
    it('uses the default model, the messages, and no optional fields when none are given', async () => {
      postJson.mockResolvedValue({ model: 'm', choices: [{ message: { content: 'hi' } }] });
      const dto = request();
      await expect(service.complete(dto, ctx)).resolves.toEqual({ content: 'hi', model: 'm' });
      expect(postJson).toHaveBeenCalledTimes(1);
      const [path, body, passedCtx] = postJson.mock.calls[0];
      expect(path).toBe('/chat/completions');
      expect(body).toStrictEqual({ model: 'gpt-4o-mini', messages: dto.messages });
      expect(passedCtx).toBe(ctx);
    });

    it('uses the requested model and passes temperature and max_tokens', async () => {
      postJson.mockResolvedValue({ choices: [{ message: { content: 'hi' } }] });
      await service.complete(request({ model: 'gpt-4.1', temperature: 0.2, max_tokens: 64 }), ctx);
      expect(postJson.mock.calls[0][1]).toEqual(expect.objectContaining({ model: 'gpt-4.1', temperature: 0.2, max_tokens: 64 }));
    });

    it('keeps temperature 0 (a falsy but given value)', async () => {
      postJson.mockResolvedValue({ choices: [{ message: { content: 'hi' } }] });
      await service.complete(request({ temperature: 0 }), ctx);
      expect(postJson.mock.calls[0][1]).toEqual(expect.objectContaining({ temperature: 0 }));
    });

    it('does not send stream for a plain completion', async () => {
      postJson.mockResolvedValue({ choices: [{ message: { content: 'hi' } }] });
      await service.complete(request(), ctx);
      expect(postJson.mock.calls[0][1]).not.toHaveProperty('stream');
    });

    it('sets stream: true for a stream, with the same fields', async () => {
      postStream.mockResolvedValue(events());
      const dto = request({ temperature: 1, max_tokens: 5 });
      await expect(service.stream(dto, ctx)).resolves.toBeDefined();
      const [path, body, passedCtx] = postStream.mock.calls[0];
      expect(path).toBe('/chat/completions');
      expect(body).toStrictEqual({ model: 'gpt-4o-mini', messages: dto.messages, temperature: 1, max_tokens: 5, stream: true });
      expect(passedCtx).toBe(ctx);
      expect(postJson).not.toHaveBeenCalled();
    });
  });

  describe('complete', () => {
    it('maps content, model and usage', async () => {
      const usage = { prompt_tokens: 12, completion_tokens: 6, total_tokens: 18 };
      postJson.mockResolvedValue({
        id: 'chatcmpl-1',
        object: 'chat.completion',
        model: 'gpt-4o-mini-2024-07-18',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there!' }, finish_reason: 'stop' }],
        usage,
      });
      await expect(service.complete(request(), ctx)).resolves.toStrictEqual({ content: 'Hello there!', model: 'gpt-4o-mini-2024-07-18', usage });
    });

    it('falls back to the requested model when the upstream names none', async () => {
      postJson.mockResolvedValue({ choices: [{ message: { content: 'x' } }] });
      await expect(service.complete(request({ model: 'my-model' }), ctx)).resolves.toEqual({ content: 'x', model: 'my-model' });
    });

    it('has no usage key when the upstream sent none', async () => {
      postJson.mockResolvedValue({ model: 'm', choices: [{ message: { content: 'x' } }] });
      await expect(service.complete(request(), ctx)).resolves.not.toHaveProperty('usage');
    });

    it('relays null content (tool calls only) as empty text', async () => {
      postJson.mockResolvedValue({ model: 'm', choices: [{ message: { role: 'assistant', content: null, tool_calls: [] } }] });
      await expect(service.complete(request(), ctx)).resolves.toEqual({ content: '', model: 'm' });
    });

    it.each<[string, unknown]>([
      ['no choices', { model: 'm' }],
      ['empty choices', { model: 'm', choices: [] }],
      ['choices not an array', { model: 'm', choices: { 0: { message: { content: 'x' } } } }],
      ['a choice without a message', { model: 'm', choices: [{ index: 0 }] }],
      ['a null body', null],
    ])('%s → 502 malformed response', async (_label, body) => {
      postJson.mockResolvedValue(body);
      const result = service.complete(request(), ctx);
      await expect(result).rejects.toBeInstanceOf(UpstreamFailureError);
      await expect(result).rejects.toMatchObject({ status: 502, type: 'upstream_error', code: 'upstream_malformed_response' });
    });

    it('non-string content → 502 malformed response', async () => {
      postJson.mockResolvedValue({ choices: [{ message: { content: [{ type: 'text', text: 'x' }] } }] });
      await expect(service.complete(request(), ctx)).rejects.toMatchObject({ status: 502, code: 'upstream_malformed_response' });
    });

    it('lets an upstream error through unchanged', async () => {
      const refusal = new NotConfiguredError('OPENAI_API_KEY is not set');
      postJson.mockRejectedValue(refusal);
      await expect(service.complete(request(), ctx)).rejects.toBe(refusal);
    });
  });

  describe('stream', () => {
    it('rejects (before any delta) when the upstream refuses the stream', async () => {
      const refusal = new UpstreamFailureError('The upstream failed (HTTP 500)', 'upstream_http_error', 500);
      postStream.mockRejectedValue(refusal);
      await expect(service.stream(request(), ctx)).rejects.toBe(refusal);
    });

    it('yields only non-empty content deltas, in order', async () => {
      postStream.mockResolvedValue(
        events(
          JSON.stringify({ choices: [{ index: 0, delta: { role: 'assistant' } }] }),
          chunk(''),
          chunk('Hel'),
          chunk(null),
          chunk('lo\n'),
          JSON.stringify({ choices: [] }),
          JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
          JSON.stringify({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } }),
          chunk(42),
          chunk('!'),
        ),
      );
      const deltas = await service.stream(request(), ctx);
      await expect(collect(deltas)).resolves.toEqual(['Hel', 'lo\n', '!']);
    });

    it('yields deltas shaped { content }', async () => {
      postStream.mockResolvedValue(events(chunk('a')));
      const received: Array<ChatDeltaDto | ChatSourcesEventDto> = [];
      for await (const delta of await service.stream(request(), ctx)) received.push(delta);
      expect(received).toStrictEqual([{ content: 'a' }]);
    });

    it('throws a 502 malformed error on a chunk that is not JSON, after the deltas before it', async () => {
      postStream.mockResolvedValue(events(chunk('ok'), '{"choices": [', chunk('never')));
      const received: string[] = [];
      const consume = async (): Promise<void> => {
        for await (const delta of await service.stream(request(), ctx)) received.push((delta as ChatDeltaDto).content);
      };
      const result = consume();
      await expect(result).rejects.toBeInstanceOf(UpstreamFailureError);
      await expect(result).rejects.toMatchObject({ status: 502, code: 'upstream_malformed_response' });
      expect(received).toEqual(['ok']);
    });

    it('throws a 502 on an in-stream {error:{message}}, carrying the upstream message', async () => {
      postStream.mockResolvedValue(events(chunk('partial'), JSON.stringify({ error: { message: 'The server had an error while processing your request.' } })));
      const deltas = await service.stream(request(), ctx);
      const result = collect(deltas);
      await expect(result).rejects.toBeInstanceOf(UpstreamFailureError);
      await expect(result).rejects.toMatchObject({ status: 502, type: 'upstream_error', code: 'upstream_stream_error' });
      await expect(result).rejects.toThrow('The upstream reported an error mid-stream: The server had an error while processing your request.');
    });

    it('truncates a huge in-stream error message', async () => {
      postStream.mockResolvedValue(events(JSON.stringify({ error: { message: 'z'.repeat(10_000) } })));
      const result = collect(await service.stream(request(), ctx));
      await expect(result).rejects.toBeInstanceOf(UpstreamFailureError);
      const error = await result.catch((thrown: unknown) => thrown);
      expect((error as ApiError).message.length).toBeLessThanOrEqual(600);
    });

    it('throws a 502 on an in-stream error without a message', async () => {
      postStream.mockResolvedValue(events(JSON.stringify({ error: { code: 500 } })));
      const result = collect(await service.stream(request(), ctx));
      await expect(result).rejects.toMatchObject({ status: 502, code: 'upstream_stream_error', message: 'The upstream reported an error mid-stream' });
    });

    it('treats a `null` event as a malformed response (502), not a TypeError', async () => {
      postStream.mockResolvedValue(events('null'));
      await expect(collect(await service.stream(request(), ctx))).rejects.toBeInstanceOf(UpstreamFailureError);
    });

    it('lets a transport error from the event stream through unchanged', async () => {
      const broken = new UpstreamFailureError('The connection to the upstream failed before it answered', 'upstream_connection_error');
      async function* failing(): AsyncGenerator<string> {
        yield chunk('a');
        throw broken;
      }
      postStream.mockResolvedValue(failing());
      await expect(collect(await service.stream(request(), ctx))).rejects.toBe(broken);
    });

    it('stops pulling upstream events when the consumer stops early', async () => {
      let closed = false;
      async function* source(): AsyncGenerator<string> {
        try {
          yield chunk('a');
          yield chunk('b');
          yield chunk('c');
        } finally {
          closed = true;
        }
      }
      postStream.mockResolvedValue(source());
      for await (const delta of await service.stream(request(), ctx)) {
        expect((delta as ChatDeltaDto).content).toBe('a');
        break;
      }
      expect(closed).toBe(true);
    });
  });

  describe('grounded (retrieval)', () => {
    const passages = {
      mode: 'hybrid' as const,
      results: [
        { id: 'refunds', chunk: 0, text: 'Money back within 30 days.', metadata: { section: 'billing' }, score: 0.03 },
        { id: 'shipping', chunk: 2, text: 'Shipping takes 3 days.', metadata: {}, score: 0.01 },
      ],
    };
    const grounded = (): ChatRequestDto =>
      request({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello' },
          { role: 'user', content: 'How do I get a refund?' },
        ],
        retrieval: { collection: 'kb', top_k: 2, filter: { lang: 'en' } },
      });

    it('searches with the last user message and gives the passages to the model after the leading system messages', async () => {
      search.mockResolvedValue(passages);
      postJson.mockResolvedValue({ model: 'm', choices: [{ message: { content: 'Within 30 days [1].' } }] });
      const answer = await service.complete(grounded(), ctx);
      expect(search).toHaveBeenCalledWith('kb', { query: 'How do I get a refund?', top_k: 2, filter: { lang: 'en' } }, ctx, 'retrieval.');
      const sent = (postJson.mock.calls[0][1] as { messages: Array<{ role: string; content: string }> }).messages;
      expect(sent.map((m) => m.role)).toEqual(['system', 'system', 'user', 'assistant', 'user']);
      expect(sent[1].content).toMatch(/answer the user using only the passages below.*cite/i);
      expect(sent[1].content).toContain('[1] (document "refunds", chunk 0)\nMoney back within 30 days.');
      expect(sent[1].content).toContain('[2] (document "shipping", chunk 2)');
      expect(answer).toEqual({
        content: 'Within 30 days [1].',
        model: 'm',
        sources: [
          { id: 'refunds', chunk: 0, score: 0.03, metadata: { section: 'billing' } },
          { id: 'shipping', chunk: 2, score: 0.01, metadata: {} },
        ],
      });
    });

    it('streams the sources in one event before the first token', async () => {
      search.mockResolvedValue(passages);
      postStream.mockResolvedValue(events(chunk('A'), chunk('B')));
      const received: Array<ChatDeltaDto | ChatSourcesEventDto> = [];
      for await (const event of await service.stream(grounded(), ctx)) received.push(event);
      expect(received[0]).toEqual({ sources: [expect.objectContaining({ id: 'refunds' }), expect.objectContaining({ id: 'shipping' })] });
      expect(received.slice(1)).toEqual([{ content: 'A' }, { content: 'B' }]);
    });

    it('does not call the upstream when the search fails (e.g. unknown collection)', async () => {
      const missing = new Error('no collection');
      search.mockRejectedValue(missing);
      await expect(service.complete(grounded(), ctx)).rejects.toBe(missing);
      await expect(service.stream(grounded(), ctx)).rejects.toBe(missing);
      expect(postJson).not.toHaveBeenCalled();
      expect(postStream).not.toHaveBeenCalled();
    });

    it('without retrieval, never searches and sends the messages unchanged', async () => {
      postJson.mockResolvedValue({ model: 'm', choices: [{ message: { content: 'x' } }] });
      await expect(service.complete(request(), ctx)).resolves.not.toHaveProperty('sources');
      expect(search).not.toHaveBeenCalled();
    });
  });
});
