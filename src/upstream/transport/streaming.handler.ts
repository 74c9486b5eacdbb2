import type { IncomingHttpHeaders } from 'node:http';
import { Dispatcher, errors } from 'undici';
import { CancelSignal } from './abort-emitter.js';
import { ConnectionWait, onCancel, PoolView } from './connection-wait.js';
import { firstHeader, readBounded, readBoundedBytes, TransportResponse } from './upstream-transport.js';

/** Body bytes read ahead of a slow consumer before the upstream socket is paused. */
const HIGH_WATER_BYTES = 64 * 1024;

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * One request through undici's `dispatch()` whose answer is read as it arrives (SSE): the handler is
 * the response, its body an async iterator of the chunks undici hands over, with no Readable stream
 * in between (one object per stream instead of a stream, its buffer list and an async iterator over
 * it). Read-ahead stops at HIGH_WATER_BYTES (the socket is paused) so a slow client slows the
 * upstream rather than growing memory. Cancelling settles at once, even while the request still
 * waits for a connection; the wait itself is bounded and timed (ConnectionWait).
 */
export class StreamingHandler implements Dispatcher.DispatchHandler, TransportResponse, AsyncIterator<Uint8Array>, AsyncIterable<Uint8Array> {
  status = 0;
  private headers: IncomingHttpHeaders = {};
  private controller?: Dispatcher.DispatchController;
  private readonly wait: ConnectionWait;
  private readonly detach: () => void;
  /** Until the answer's headers (or a failure) settle `send()`. */
  private opening: { resolve: (response: TransportResponse) => void; reject: (error: Error) => void } | undefined;
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private paused = false;
  private ended = false;
  private failure?: Error;
  /** Set once the body was given up (discard, consumer left, cancelled): nothing more is read. */
  private closed = false;
  private reader?: { resolve: (result: IteratorResult<Uint8Array>) => void; reject: (error: Error) => void };

  constructor(
    pool: PoolView,
    origin: string,
    signal: CancelSignal,
    private readonly maxBytes: number,
    resolve: (response: TransportResponse) => void,
    reject: (error: Error) => void,
  ) {
    this.opening = { resolve, reject };
    this.wait = new ConnectionWait(pool, origin, (error) => this.giveUp(error));
    this.detach = onCancel(signal, () => this.giveUp(this.wait.cancelled()));
  }

  get waitedMs(): number | undefined {
    return this.wait.waitedMs;
  }

  // ---- undici's side

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    this.wait.connected();
    if (this.closed) controller.abort(new errors.RequestAbortedError());
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx: the real answer follows
    this.status = statusCode;
    this.headers = headers;
    const opening = this.opening;
    this.opening = undefined;
    opening?.resolve(this);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.closed) return;
    const reader = this.reader;
    if (reader) {
      this.reader = undefined;
      reader.resolve({ done: false, value: chunk });
      return;
    }
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.queuedBytes > HIGH_WATER_BYTES && !this.paused) {
      this.paused = true;
      controller.pause();
    }
  }

  onResponseEnd(): void {
    this.ended = true;
    this.detach();
    const reader = this.reader;
    this.reader = undefined;
    reader?.resolve(DONE);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    this.wait.stop();
    this.detach();
    if (this.opening) {
      const opening = this.opening;
      this.opening = undefined;
      opening.reject(error);
      return;
    }
    if (this.closed || this.ended) return;
    this.failure = error;
    const reader = this.reader;
    this.reader = undefined;
    reader?.reject(error);
  }

  // ---- the caller's side (TransportResponse)

  header(name: string): string | undefined {
    return firstHeader(this.headers, name);
  }

  chunks(): AsyncIterable<Uint8Array> {
    return this;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this;
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.queue.length > 0) {
      const chunk = this.queue.shift() as Buffer;
      this.queuedBytes -= chunk.length;
      if (this.paused && this.queuedBytes <= HIGH_WATER_BYTES / 2) {
        this.paused = false;
        this.controller?.resume();
      }
      return Promise.resolve({ done: false, value: chunk });
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended || this.closed) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => (this.reader = { resolve, reject }));
  }

  /** The consumer stopped early (break, an exception in its loop): the rest is not read. */
  return(): Promise<IteratorResult<Uint8Array>> {
    this.discard();
    return Promise.resolve(DONE);
  }

  text(): Promise<string> {
    return readBounded(this, this.maxBytes, () => this.discard());
  }

  bytes(): Promise<Buffer> {
    return readBoundedBytes(this, this.maxBytes, () => this.discard());
  }

  discard(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.detach();
    if (!this.ended && !this.failure) this.controller?.abort(new errors.RequestAbortedError());
  }

  /** Cancelled, or the wait for a connection ran out: settle whatever is pending with `error`. */
  private giveUp(error: Error): void {
    if (this.ended || this.failure || this.closed) return;
    this.wait.stop();
    this.detach();
    this.closed = true;
    this.queue.length = 0;
    const opening = this.opening;
    this.opening = undefined;
    if (!opening) this.failure = error;
    this.controller?.abort(error);
    if (opening) return opening.reject(error);
    const reader = this.reader;
    this.reader = undefined;
    reader?.reject(error);
  }
}
