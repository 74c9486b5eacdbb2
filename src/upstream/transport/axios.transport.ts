import { HttpService } from '@nestjs/axios';
import { AxiosResponse } from 'axios';
import { Agent as HttpAgent, IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { readBounded, readBoundedBytes, TransportRequest, TransportResponse, UpstreamTransport } from './upstream-transport.js';
import { asAbortSignal } from './abort-emitter.js';

/** axios (through @nestjs/axios's HttpService) on keep-alive node:http(s) agents with bounded sockets. */
export class AxiosTransport extends UpstreamTransport {
  readonly name = 'axios';
  private readonly httpAgent: HttpAgent;
  private readonly httpsAgent: HttpsAgent;
  private readonly maxResponseBytes: number;

  constructor(
    private readonly http: HttpService,
    options: { maxSockets: number; maxResponseBytes: number },
  ) {
    super();
    this.maxResponseBytes = options.maxResponseBytes;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets, scheduling: 'lifo' as const };
    this.httpAgent = new HttpAgent(agentOptions);
    this.httpsAgent = new HttpsAgent(agentOptions);
  }

  async send(request: TransportRequest): Promise<TransportResponse> {
    const response = await this.http.axiosRef.request<IncomingMessage>({
      url: request.origin + request.path,
      method: request.method,
      headers: request.headers,
      data: request.body,
      signal: asAbortSignal(request.signal),
      responseType: 'stream',
      // Every status is an answer here; UpstreamClient maps them.
      validateStatus: () => true,
      decompress: true,
      maxRedirects: 0,
      httpAgent: this.httpAgent,
      httpsAgent: this.httpsAgent,
      transitional: { clarifyTimeoutError: true },
    });
    return new AxiosStreamResponse(response, this.maxResponseBytes);
  }

  async close(): Promise<void> {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

class AxiosStreamResponse implements TransportResponse {
  readonly status: number;

  constructor(
    private readonly response: AxiosResponse<IncomingMessage>,
    private readonly maxBytes: number,
  ) {
    this.status = response.status;
  }

  header(name: string): string | undefined {
    const value: unknown = this.response.headers[name.toLowerCase()];
    return typeof value === 'string' ? value : undefined;
  }

  /** The whole body, read no further than `maxBytes` (then the connection is dropped). */
  text(): Promise<string> {
    return readBounded(this.response.data, this.maxBytes, () => this.response.data.destroy());
  }

  bytes(): Promise<Buffer> {
    return readBoundedBytes(this.response.data, this.maxBytes, () => this.response.data.destroy());
  }

  chunks(): AsyncIterable<Uint8Array> {
    return this.response.data;
  }

  discard(): void {
    this.response.data.destroy();
  }
}
