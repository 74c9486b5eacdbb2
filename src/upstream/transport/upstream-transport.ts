import { responseTooLarge } from '../upstream-error.mapper.js';
import type { CancelSignal } from './abort-emitter.js';

export interface TransportRequest {
  method: 'GET' | 'POST';
  /** e.g. `https://api.openai.com` */
  origin: string;
  /** e.g. `/v1/chat/completions` */
  path: string;
  headers: Record<string, string>;
  /** Serialised JSON, when there is a body. */
  body?: string;
  /** Cancels the request (and an open response body). */
  signal: CancelSignal;
}

export interface TransportResponse {
  status: number;
  header(name: string): string | undefined;
  /** The whole body as text (for JSON answers and error bodies). */
  text(): Promise<string>;
  /** The whole body as bytes. */
  bytes(): Promise<Buffer>;
  /** The body as it arrives (for SSE). Throws if the connection breaks before a clean end. */
  chunks(): AsyncIterable<Uint8Array>;
  /** Release the connection without reading the body. */
  discard(): void;
  /** Milliseconds the request waited for a connection (undici only). */
  readonly waitedMs?: number;
}

/** A 2xx answer: what callers take as the upstream's result (anything else is mapped to an error). */
export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/**
 * A response body read whole as UTF-8, but no further than `maxBytes`: past it, `stop()` drops the
 * body (and its connection) and the read fails with 502 upstream_response_too_large.
 */
export async function readBounded(body: AsyncIterable<Uint8Array>, maxBytes: number, stop: () => void): Promise<string> {
  return (await readBoundedBytes(body, maxBytes, stop)).toString('utf8');
}

/** `readBounded`, as bytes. */
export async function readBoundedBytes(body: AsyncIterable<Uint8Array>, maxBytes: number, stop: () => void): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.length;
    if (bytes > maxBytes) {
      stop();
      throw responseTooLarge(maxBytes);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** A response header's value from Node-style headers (lower-case names, repeated ones as arrays): the first. */
export function firstHeader(headers: Readonly<Record<string, string | string[] | undefined>>, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** An answer read to its end: what a JSON call needs, status and body at once. */
export class BufferedResponse {
  private decoded?: string;

  constructor(
    readonly status: number,
    readonly header: (name: string) => string | undefined,
    /** The whole body; empty for an error status whose body could not be read to the end. */
    readonly body: Buffer,
    /** Hands a borrowed body buffer back for reuse: `body` must not be read after it. */
    readonly release: () => void = () => undefined,
    /** Milliseconds the request waited for a connection (undici only). */
    readonly waitedMs?: number,
  ) {}

  /** The body as UTF-8 text, decoded on first use (a caller that reads the bytes never pays for it). */
  get text(): string {
    return (this.decoded ??= this.body.toString('utf8'));
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * The wire under UpstreamClient. Two implementations (undici, axios via @nestjs/axios) so the
 * transport can be chosen by measurement (UPSTREAM_TRANSPORT) without touching any caller.
 */
export abstract class UpstreamTransport {
  abstract readonly name: string;
  abstract send(request: TransportRequest): Promise<TransportResponse>;
  abstract close(): Promise<void>;

  /**
   * The whole exchange for a JSON call: the answer's status, headers and full body. A transport may
   * do this more cheaply than `send()` plus `text()` (undici does); this default is exactly that.
   * A body that breaks off fails a 2xx answer, while an error status keeps its status with ''.
   */
  async exchange(request: TransportRequest): Promise<BufferedResponse> {
    const response = await this.send(request);
    const body = isSuccess(response.status) ? await response.bytes() : await response.bytes().catch(() => EMPTY);
    return new BufferedResponse(response.status, (name) => response.header(name), body);
  }
}
