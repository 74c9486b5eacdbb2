import { Agent, Client, Dispatcher, errors, Pool } from 'undici';
import { BufferingHandler } from './buffering.handler.js';
import { PoolName, PoolView } from './connection-wait.js';
import { StreamingHandler } from './streaming.handler.js';
import { BufferedResponse, TransportRequest, TransportResponse, UpstreamTransport } from './upstream-transport.js';

/**
 * HTTP/2 offered by ALPN (an upstream that picks HTTP/1.1 gets HTTP/1.1). Two undici 7 details make
 * it multiplex: a Client's `pipelining` (1 unless set) also caps HTTP/2 streams per connection, so
 * it is cleared and the protocol's own default applies (HTTP/1.1: 1, HTTP/2: no cap of undici's,
 * the server's SETTINGS_MAX_CONCURRENT_STREAMS holds); and a POST is put on a busy connection only
 * if marked idempotent, which with one request per HTTP/1.1 connection changes nothing else.
 */
const HTTP2_OPTIONS: Agent.Options = {
  allowH2: true,
  factory: (origin, options: Pool.Options) => (options.connections === 1 ? unpipelinedClient(origin, options) : new Pool(origin, { ...options, factory: unpipelinedClient })),
};

function unpipelinedClient(origin: string | URL, options: Client.Options): Client {
  const client = new Client(origin, options);
  (client as { pipelining: number | undefined }).pipelining = undefined;
  return client;
}

export interface UndiciTransportOptions {
  /** Connections per upstream origin for JSON calls. */
  maxSockets: number;
  /** Connections per upstream origin for streams (each holds its connection for the whole answer). */
  maxStreams: number;
  /** Longest wait for a free connection while every one is busy; then UpstreamPoolExhaustedError. */
  poolWaitMs: number;
  timeoutMs: number;
  maxResponseBytes: number;
  /** Offer HTTP/2 (ALPN) to https upstreams; one connection then carries many requests. */
  http2?: boolean;
  /** TLS options for upstream connections (tests: a private CA). */
  tls?: { ca?: string | Buffer };
}

/**
 * What undici's Agent reports per origin: a Pool's stats, or a Client's when the bound is 1
 * (`connected` then a boolean, and its waiting requests are `pending`).
 */
interface OriginStats {
  connected: number | boolean;
  running: number;
  queued?: number;
  pending?: number;
}

/** How busy one pool is at this moment, per upstream origin (undici's PoolStats). */
export interface PoolSnapshot {
  pool: PoolName;
  origin: string;
  connected: number;
  running: number;
  queued: number;
}

/**
 * Two undici Agents, each one keep-alive pool per upstream origin: one for JSON calls
 * (UPSTREAM_MAX_SOCKETS connections; a call holds one for milliseconds to seconds) and one for
 * streams (UPSTREAM_MAX_STREAMS; a stream holds one for its whole answer), so that streams never
 * queue behind a bound sized for request rate, and JSON calls never wait for streams to end.
 */
export class UndiciTransport extends UpstreamTransport {
  readonly name = 'undici';
  private readonly json: PooledAgent;
  private readonly streams: PooledAgent;
  private readonly maxResponseBytes: number;
  /** See HTTP2_OPTIONS. */
  private readonly idempotent: boolean;

  constructor(options: UndiciTransportOptions) {
    super();
    this.maxResponseBytes = options.maxResponseBytes;
    const agentOptions = {
      // No `pipelining`: HTTP/1.1 sends one request per connection at a time by default, and HTTP/2
      // multiplexes up to the server's limit (an explicit 1 would stop that too).
      keepAliveTimeout: 30_000,
      // Our own deadline (an AbortSignal) is the real bound; these are a backstop only.
      headersTimeout: options.timeoutMs + 1_000,
      bodyTimeout: options.timeoutMs + 1_000,
      ...(options.tls ? { connect: options.tls } : {}),
      ...(options.http2 ? HTTP2_OPTIONS : {}),
    };
    this.idempotent = options.http2 ?? false;
    this.json = new PooledAgent('json', options.maxSockets, options.poolWaitMs, agentOptions);
    this.streams = new PooledAgent('stream', options.maxStreams, options.poolWaitMs, agentOptions);
  }

  /** A streaming request (and the readiness probe): resolves at the answer's headers, the body read as it arrives. */
  send(request: TransportRequest): Promise<TransportResponse> {
    return this.dispatch<TransportResponse>(request, this.streams, (pool, resolve, reject) => new StreamingHandler(pool, request.origin, request.signal, this.maxResponseBytes, resolve, reject));
  }

  /**
   * A JSON call through undici's `dispatch()` with a handler that collects the body: no response
   * stream, no `body.text()` and no signal plumbing inside undici. ~25 µs less CPU per call than
   * `request()` + `text()` at concurrency 64 (docs/benchmarks.md).
   */
  override exchange(request: TransportRequest): Promise<BufferedResponse> {
    return this.dispatch<BufferedResponse>(request, this.json, (pool, resolve, reject) => new BufferingHandler(pool, request.origin, request.signal, this.maxResponseBytes, resolve, reject));
  }

  /** One request on `pool`'s agent, answered through the handler `makeHandler` builds (a throw from dispatch goes to it too). */
  private dispatch<T>(
    request: TransportRequest,
    pool: PooledAgent,
    makeHandler: (pool: PooledAgent, resolve: (value: T) => void, reject: (error: Error) => void) => Dispatcher.DispatchHandler & { onResponseError(controller: undefined, error: Error): void },
  ): Promise<T> {
    if (request.signal.aborted) return Promise.reject(new errors.RequestAbortedError());
    return new Promise<T>((resolve, reject) => {
      const handler = makeHandler(pool, resolve, reject);
      try {
        pool.agent.dispatch(
          { origin: request.origin, path: request.path, method: request.method, headers: request.headers, body: request.body, idempotent: this.idempotent },
          handler,
        );
      } catch (error) {
        handler.onResponseError(undefined, error as Error);
      }
    });
  }

  /** Connections and waiting requests per pool and origin, for the metrics scrape. */
  poolSnapshots(): PoolSnapshot[] {
    return [...this.json.snapshots(), ...this.streams.snapshots()];
  }

  async close(): Promise<void> {
    await Promise.all([this.json.agent.close(), this.streams.agent.close()]);
  }
}

/** One undici Agent with its bound, as the handlers see it (PoolView). */
class PooledAgent implements PoolView {
  readonly agent: Agent;

  constructor(
    readonly name: PoolName,
    private readonly connections: number,
    readonly maxWaitMs: number,
    options: Agent.Options,
  ) {
    this.agent = new Agent({ ...options, connections });
  }

  /** Every connection `origin` may have is open (read only when a wait runs out: it walks every origin's pool). */
  full(origin: string): boolean {
    const stats = this.agent.stats[origin] as OriginStats | undefined;
    return stats !== undefined && Number(stats.connected) >= this.connections;
  }

  snapshots(): PoolSnapshot[] {
    return Object.entries(this.agent.stats as Record<string, OriginStats>).map(([origin, s]) => ({
      pool: this.name,
      origin,
      connected: Number(s.connected),
      running: s.running,
      queued: s.queued ?? s.pending ?? 0,
    }));
  }

}
