import { HttpService } from '@nestjs/axios';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { InvalidRequestError, NotConfiguredError } from '../common/errors/index.js';
import { RequestContext } from '../common/http/request-context.js';
import { ApiError } from '../common/errors/index.js';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { failover } from './failover.js';
import { RequestDeadline } from './request-deadline.js';
import { RetryBudget } from './retry-budget.js';
import { SseDataParser } from './sse-data.stream.js';
import { AxiosTransport } from './transport/axios.transport.js';
import { PoolName } from './transport/connection-wait.js';
import { UndiciTransport } from './transport/undici.transport.js';
import { UpstreamPoolExhaustedError } from './errors/upstream-pool-exhausted.error.js';
import { BufferedResponse, isSuccess, TransportRequest, TransportResponse, UpstreamTransport } from './transport/upstream-transport.js';
import { malformedUpstreamResponse, mapTransportError, mapUpstreamStatus } from './upstream-error.mapper.js';
import { UpstreamTarget } from './upstream-target.js';
import { UpstreamRouter } from './upstream.router.js';

/** An open upstream stream: the `data` payloads of its SSE events, `[DONE]` excluded. */
export type UpstreamEventStream = AsyncIterable<string>;

/** An upstream's JSON answer as it arrived, and its parsed value. */
export interface JsonText {
  text: string;
  value: unknown;
}

/**
 * The one place ballast talks HTTP to upstreams: one shared keep-alive client made at start-up and
 * closed at shutdown, one deadline per request (all attempts and fallbacks together), retries and
 * failover across UPSTREAMS with a circuit breaker per upstream and one retry budget for the
 * process, one mapping of failures to our errors.
 */
@Injectable()
export class UpstreamClient implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(UpstreamClient.name);
  private transport?: UpstreamTransport;

  constructor(
    private readonly config: AppConfig,
    private readonly http: HttpService,
    private readonly router: UpstreamRouter,
    private readonly metrics: MetricsService,
    private readonly retryBudget: RetryBudget,
  ) {}

  onModuleInit(): void {
    const { transport, maxSockets, maxStreams, poolWaitMs, http2, timeoutMs, maxResponseBytes } = this.config.upstream;
    if (transport === 'axios') {
      // One node:http agent for both kinds of call: room for both bounds together.
      this.transport = new AxiosTransport(this.http, { maxSockets: maxSockets + maxStreams, maxResponseBytes });
    } else {
      const undici = new UndiciTransport({ maxSockets, maxStreams, poolWaitMs, http2, timeoutMs, maxResponseBytes });
      this.transport = undici;
      this.registerPoolGauges(undici);
    }
    const names = this.router.targets.map((t) => `${t.name} (${t.baseUrl})`).join(', ');
    this.logger.log(
      `Upstreams ${names} via ${this.transport.name}${http2 && transport === 'undici' ? ' (HTTP/2 offered)' : ''}: at most ${maxSockets} connections each for JSON calls, ${maxStreams} for streams`,
    );
  }

  private registerPoolGauges(transport: UndiciTransport): void {
    const sum = (field: 'connected' | 'queued'): Array<{ labels: Record<string, string>; value: number }> => {
      const totals = { json: 0, stream: 0 };
      for (const snapshot of transport.poolSnapshots()) totals[snapshot.pool] += snapshot[field];
      return [
        { labels: { pool: 'json' }, value: totals.json },
        { labels: { pool: 'stream' }, value: totals.stream },
      ];
    };
    this.metrics.gauge('ballast_upstream_pool_connections', 'Open upstream connections, by pool (json, stream)', () => sum('connected'), ['pool']);
    this.metrics.gauge('ballast_upstream_pool_queued', 'Upstream requests waiting for a connection right now, by pool (json, stream)', () => sum('queued'), ['pool']);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.transport?.close();
    this.transport = undefined;
  }

  get configured(): boolean {
    return this.router.configured;
  }

  /**
   * One cheap request per configured upstream (`GET /models`, no retries, breakers untouched), for
   * readiness: reachable means it answered below 500 with our key accepted.
   */
  async probe(signal: AbortSignal): Promise<Array<{ name: string; reachable: boolean; error?: string }>> {
    const transport = this.transport;
    if (!transport) throw new Error('UpstreamClient used before start-up or after shutdown');
    const targets = this.router.targets.filter((t) => t.apiKey !== undefined);
    return Promise.all(
      targets.map(async (target) => {
        try {
          const response = await transport.send({
            method: 'GET',
            origin: target.origin,
            path: `${target.basePath}/models`,
            headers: { accept: 'application/json', authorization: `Bearer ${target.apiKey}` },
            signal,
          });
          response.discard();
          if (response.status === 401 || response.status === 403) return { name: target.name, reachable: false, error: `key rejected (HTTP ${response.status})` };
          if (response.status >= 500) return { name: target.name, reachable: false, error: `HTTP ${response.status}` };
          return { name: target.name, reachable: true };
        } catch (error) {
          const mapped = mapTransportError(error, signal.aborted ? 'timeout' : null, 0);
          return { name: target.name, reachable: false, error: mapped instanceof ApiError && mapped.code ? mapped.code : 'unreachable' };
        }
      }),
    );
  }

  /** POST a JSON body, answer the parsed JSON. One deadline covers every attempt, connect to last byte. */
  postJson<T>(path: string, body: unknown, ctx: RequestContext): Promise<T> {
    return this.json<T>('POST', path, body, ctx);
  }

  /** GET, answer the parsed JSON (e.g. `/models`). */
  getJson<T>(path: string, ctx: RequestContext): Promise<T> {
    return this.json<T>('GET', path, undefined, ctx);
  }

  /**
   * POST a JSON body, answer the upstream's JSON text exactly as it arrived, with its parsed value
   * (for relays: the bytes go back untouched, and the value has been checked to parse).
   */
  postJsonText(path: string, body: unknown, ctx: RequestContext): Promise<JsonText> {
    return this.json('POST', path, body, ctx, (response) => ({ text: response.text, value: parseJson<unknown>(response.text) }));
  }

  /**
   * POST a JSON body and hand the answer's bytes, undecoded, to `read` (for answers too large to
   * parse on the event loop). `read` runs inside the attempt: a malformed answer it throws
   * (`malformedUpstreamResponse`) is retried and fails over like any other upstream failure. The
   * bytes may be a reused buffer, valid until what `read` returns has settled: copy what you keep.
   */
  postJsonBytes<T>(path: string, body: unknown, ctx: RequestContext, read: (bytes: Buffer) => T | Promise<T>): Promise<T> {
    return this.json('POST', path, body, ctx, (response) => read(response.body));
  }

  private async json<T>(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    ctx: RequestContext,
    read: (response: BufferedResponse) => T | Promise<T> = (response) => parseJson<T>(response.text),
  ): Promise<T> {
    const targets = this.candidates(body);
    const timeoutMs = this.config.upstream.timeoutMs;
    const deadline = new RequestDeadline(ctx, timeoutMs);
    const started = performance.now();
    try {
      return await this.failover(targets, deadline, 'json', async (target) => {
        const response = await this.wire.exchange(this.request(target, method, path, body, deadline, 'application/json'));
        if (response.waitedMs !== undefined) this.metrics.upstreamConnectionWait.series(target.name, 'json').observe(response.waitedMs / 1000);
        try {
          if (!isSuccess(response.status)) throw mapUpstreamStatus(response.status, response.text, response.header('retry-after'));
          return await read(response);
        } finally {
          response.release();
        }
      });
    } finally {
      ctx.upstreamMs += performance.now() - started;
      deadline.dispose();
    }
  }

  /**
   * POST a streaming request. Resolves once an upstream has accepted it (2xx headers), so that a
   * refusal still becomes an ordinary HTTP error for our client, and retries and fallbacks happen
   * before our client has seen a byte; then yields event payloads as they arrive, each passed
   * through `map` when given (undefined from it skips the event; what it throws ends the stream).
   * The deadline runs until the first event; after that only the idle gap between chunks counts.
   * Breaking out of the iteration (or the client leaving) aborts the upstream request.
   */
  postStream(path: string, body: unknown, ctx: RequestContext): Promise<UpstreamEventStream>;
  postStream<T>(path: string, body: unknown, ctx: RequestContext, map: (data: string) => T | undefined): Promise<AsyncIterable<T>>;
  async postStream<T>(path: string, body: unknown, ctx: RequestContext, map?: (data: string) => T | undefined): Promise<AsyncIterable<T | string>> {
    const targets = this.candidates(body);
    const deadline = new RequestDeadline(ctx, this.config.upstream.timeoutMs);
    const started = performance.now();
    let response: TransportResponse;
    try {
      response = await this.failover(targets, deadline, 'stream', (target) => this.send(target, 'POST', path, body, deadline, 'text/event-stream'));
    } catch (error) {
      deadline.dispose();
      throw error;
    } finally {
      ctx.upstreamMs += performance.now() - started;
    }
    return this.events(response, deadline, this.config.upstream.timeoutMs, map);
  }

  /**
   * The one async layer between the upstream's chunks and our client: parse, map and yield in one
   * loop (every further async generator per event costs a promise and a microtask hop per event).
   */
  private async *events<T>(
    response: TransportResponse,
    deadline: RequestDeadline,
    timeoutMs: number,
    map: ((data: string) => T | undefined) | undefined,
  ): AsyncGenerator<T | string> {
    const parser = new SseDataParser();
    let first = true;
    try {
      for await (const chunk of response.chunks()) {
        deadline.touch();
        const payloads = parser.feed(chunk);
        for (let i = 0; i < payloads.length; i++) {
          if (first) {
            first = false;
            deadline.switchToIdle();
          }
          if (map === undefined) yield payloads[i];
          else {
            const value = map(payloads[i]);
            if (value !== undefined) yield value;
          }
        }
        payloads.length = 0;
        if (parser.done) return;
      }
      for (const data of parser.end()) {
        if (map === undefined) yield data;
        else {
          const value = map(data);
          if (value !== undefined) yield value;
        }
      }
    } catch (error) {
      throw mapTransportError(error, deadline.cause, timeoutMs);
    } finally {
      deadline.dispose();
      // Ending early (client gone, consumer broke out, error) must not leave the upstream running.
      response.discard();
    }
  }

  /**
   * The upstreams that may serve this body's model, in order. Checked before the deadline and the
   * upstream timer start: no upstream was asked, so Server-Timing must not count it as upstream time.
   */
  private candidates(body: unknown): readonly UpstreamTarget[] {
    const model = modelOf(body);
    const targets = this.router.candidates(model);
    if (targets.length > 0) return targets;
    if (!this.router.configured) {
      throw new NotConfiguredError('OPENAI_API_KEY is not set: configure an upstream key (and OPENAI_BASE_URL) to use this route');
    }
    throw new InvalidRequestError(`No configured upstream serves the model ${JSON.stringify(model)}`, { param: 'model', code: 'model_not_found' });
  }

  private failover<T>(targets: readonly UpstreamTarget[], deadline: RequestDeadline, pool: PoolName, attempt: (target: UpstreamTarget) => Promise<T>): Promise<T> {
    const { timeoutMs, maxRetries, breaker } = this.config.upstream;
    this.retryBudget.recordRequest();
    const mapped = async (target: UpstreamTarget): Promise<T> => {
      const started = performance.now();
      try {
        const result = await attempt(target);
        this.metrics.upstreamDuration.series(target.name, 'ok').observe((performance.now() - started) / 1000);
        return result;
      } catch (error) {
        const mappedError = mapTransportError(error, deadline.cause, timeoutMs);
        if (mappedError instanceof UpstreamPoolExhaustedError) {
          this.metrics.upstreamPoolExhausted.inc({ upstream: target.name, pool });
          this.metrics.upstreamConnectionWait.series(target.name, pool).observe(mappedError.waitedMs / 1000);
        }
        const outcome = mappedError instanceof ApiError ? (mappedError.code ?? mappedError.type) : 'cancelled';
        this.metrics.upstreamDuration.series(target.name, outcome).observe((performance.now() - started) / 1000);
        this.metrics.upstreamErrors.inc({ upstream: target.name, outcome });
        throw mappedError;
      }
    };
    return failover({
      targets,
      maxRetries,
      cooldownMs: breaker.cooldownMs,
      deadline,
      attempt: mapped,
      retryBudget: this.retryBudget,
      onRetry: (taken) => this.metrics.upstreamRetries.inc({ result: taken ? 'taken' : 'refused' }),
      onWaitAborted: (error) => mapTransportError(error, deadline.cause, timeoutMs),
    });
  }

  private async send(
    target: UpstreamTarget,
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    deadline: RequestDeadline,
    accept: string,
  ): Promise<TransportResponse> {
    const response = await this.wire.send(this.request(target, method, path, body, deadline, accept));
    if (response.waitedMs !== undefined) this.metrics.upstreamConnectionWait.series(target.name, 'stream').observe(response.waitedMs / 1000);
    if (isSuccess(response.status)) return response;
    const text = await response.text().catch(() => '');
    throw mapUpstreamStatus(response.status, text, response.header('retry-after'));
  }

  private get wire(): UpstreamTransport {
    if (!this.transport) throw new Error('UpstreamClient used before start-up or after shutdown');
    return this.transport;
  }

  private request(target: UpstreamTarget, method: 'GET' | 'POST', path: string, body: unknown, deadline: RequestDeadline, accept: string): TransportRequest {
    const headers: Record<string, string> = { accept, authorization: `Bearer ${target.apiKey}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return {
      method,
      origin: target.origin,
      path: target.basePath + path,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: deadline.cancellation,
    };
  }
}

function modelOf(body: unknown): string | undefined {
  const model = body && typeof body === 'object' ? (body as { model?: unknown }).model : undefined;
  return typeof model === 'string' ? model : undefined;
}

function parseJson<T>(text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw malformedUpstreamResponse('body is not valid JSON');
  }
}
