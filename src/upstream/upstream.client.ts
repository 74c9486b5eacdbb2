import { HttpService } from '@nestjs/axios';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { NotConfiguredError } from '../common/errors/index.js';
import { RequestContext } from '../common/http/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { RequestDeadline } from './request-deadline.js';
import { sseData } from './sse-data.stream.js';
import { AxiosTransport } from './transport/axios.transport.js';
import { UndiciTransport } from './transport/undici.transport.js';
import { TransportResponse, UpstreamTransport } from './transport/upstream-transport.js';
import { malformedUpstreamResponse, mapTransportError, mapUpstreamStatus } from './upstream-error.mapper.js';

/** An open upstream stream: the `data` payloads of its SSE events, `[DONE]` excluded. */
export type UpstreamEventStream = AsyncIterable<string>;

/**
 * The one place ballast talks HTTP to upstreams: one shared keep-alive client made at start-up and
 * closed at shutdown, one deadline per call, one mapping of failures to our errors.
 */
@Injectable()
export class UpstreamClient implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(UpstreamClient.name);
  private transport?: UpstreamTransport;
  // The base URL split once, so no request parses a URL.
  private readonly origin: string;
  private readonly basePath: string;

  constructor(
    private readonly config: AppConfig,
    private readonly http: HttpService,
  ) {
    const base = new URL(config.upstream.baseUrl);
    this.origin = base.origin;
    this.basePath = base.pathname.replace(/\/+$/, '');
  }

  onModuleInit(): void {
    const { transport, maxSockets, timeoutMs } = this.config.upstream;
    this.transport =
      transport === 'axios' ? new AxiosTransport(this.http, { maxSockets }) : new UndiciTransport({ maxSockets, timeoutMs });
    this.logger.log(`Upstream ${this.config.upstream.baseUrl} via ${this.transport.name} (max ${maxSockets} sockets)`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.transport?.close();
    this.transport = undefined;
  }

  get configured(): boolean {
    return this.config.upstream.apiKey !== undefined;
  }

  /** POST a JSON body, answer the parsed JSON. One deadline covers connect, headers and body. */
  postJson<T>(path: string, body: unknown, ctx: RequestContext): Promise<T> {
    return this.json<T>('POST', path, body, ctx);
  }

  /** GET, answer the parsed JSON (e.g. `/models`). */
  getJson<T>(path: string, ctx: RequestContext): Promise<T> {
    return this.json<T>('GET', path, undefined, ctx);
  }

  private async json<T>(method: 'GET' | 'POST', path: string, body: unknown, ctx: RequestContext): Promise<T> {
    const deadline = new RequestDeadline(ctx, this.config.upstream.timeoutMs);
    const started = performance.now();
    try {
      const response = await this.send(method, path, body, deadline, 'application/json');
      return parseJson<T>(await response.text());
    } catch (error) {
      throw mapTransportError(error, deadline.cause, this.config.upstream.timeoutMs);
    } finally {
      ctx.upstreamMs += performance.now() - started;
      deadline.dispose();
    }
  }

  /**
   * POST a streaming request. Resolves once the upstream has accepted it (2xx headers), so that a
   * refusal still becomes an ordinary HTTP error for our client; then yields event payloads as they
   * arrive. The deadline runs until the first event; after that only the idle gap between chunks
   * counts. Breaking out of the iteration (or the client leaving) aborts the upstream request.
   */
  async postStream(path: string, body: unknown, ctx: RequestContext): Promise<UpstreamEventStream> {
    const timeoutMs = this.config.upstream.timeoutMs;
    const deadline = new RequestDeadline(ctx, timeoutMs);
    const started = performance.now();
    let response: TransportResponse;
    try {
      response = await this.send('POST', path, body, deadline, 'text/event-stream');
    } catch (error) {
      deadline.dispose();
      throw mapTransportError(error, deadline.cause, timeoutMs);
    } finally {
      ctx.upstreamMs += performance.now() - started;
    }
    return this.events(response, deadline, timeoutMs);
  }

  private async *events(response: TransportResponse, deadline: RequestDeadline, timeoutMs: number): AsyncGenerator<string> {
    let first = true;
    try {
      for await (const data of sseData(response.chunks(), () => deadline.touch())) {
        if (first) {
          first = false;
          deadline.switchToIdle();
        }
        yield data;
      }
    } catch (error) {
      throw mapTransportError(error, deadline.cause, timeoutMs);
    } finally {
      deadline.dispose();
      // Ending early (client gone, consumer broke out, error) must not leave the upstream running.
      response.discard();
    }
  }

  private async send(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    deadline: RequestDeadline,
    accept: string,
  ): Promise<TransportResponse> {
    const { apiKey } = this.config.upstream;
    if (!this.transport) throw new Error('UpstreamClient used before start-up or after shutdown');
    if (apiKey === undefined) {
      throw new NotConfiguredError('OPENAI_API_KEY is not set: configure an upstream key (and OPENAI_BASE_URL) to use this route');
    }
    const headers: Record<string, string> = { accept, authorization: `Bearer ${apiKey}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await this.transport.send({
      method,
      origin: this.origin,
      path: this.basePath + path,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: deadline.signal,
    });
    if (response.status >= 200 && response.status < 300) return response;
    const text = await response.text().catch(() => '');
    throw mapUpstreamStatus(response.status, text, response.header('retry-after'));
  }
}

function parseJson<T>(text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw malformedUpstreamResponse('body is not valid JSON');
  }
}
