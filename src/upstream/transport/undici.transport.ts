import { Agent, Dispatcher } from 'undici';
import { TransportRequest, TransportResponse, UpstreamTransport } from './upstream-transport.js';

/** undici Agent: one keep-alive pool per upstream origin, at most `maxSockets` connections each. */
export class UndiciTransport extends UpstreamTransport {
  readonly name = 'undici';
  private readonly agent: Agent;

  constructor(options: { maxSockets: number; timeoutMs: number }) {
    super();
    this.agent = new Agent({
      connections: options.maxSockets,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      // Our own deadline (an AbortSignal) is the real bound; these are a backstop only.
      headersTimeout: options.timeoutMs + 1_000,
      bodyTimeout: options.timeoutMs + 1_000,
    });
  }

  async send(request: TransportRequest): Promise<TransportResponse> {
    const response = await this.agent.request({
      origin: request.origin,
      path: request.path,
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: request.signal,
    });
    return new UndiciResponse(response);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

class UndiciResponse implements TransportResponse {
  readonly status: number;

  constructor(private readonly response: Dispatcher.ResponseData) {
    this.status = response.statusCode;
  }

  header(name: string): string | undefined {
    const value = this.response.headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
  }

  text(): Promise<string> {
    return this.response.body.text();
  }

  chunks(): AsyncIterable<Uint8Array> {
    return this.response.body;
  }

  discard(): void {
    this.response.body.destroy();
  }
}
