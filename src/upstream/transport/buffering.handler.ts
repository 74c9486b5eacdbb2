import type { IncomingHttpHeaders } from 'node:http';
import { Dispatcher, errors } from 'undici';
import { scratchBuffers } from '../../common/buffers/scratch-buffers.js';
import { responseTooLarge } from '../upstream-error.mapper.js';
import { CancelSignal } from './abort-emitter.js';
import { ConnectionWait, onCancel, PoolView } from './connection-wait.js';
import { BufferedResponse, firstHeader, isSuccess } from './upstream-transport.js';

/** From this size on, an answer body is assembled in a reused scratch buffer. */
const LARGE_BODY = 256 * 1024;

/**
 * Collects one answer for `exchange()`. Cancelling settles the promise at once, even while the
 * request still waits for a free connection, and aborts the request when undici starts it. An
 * answer past `maxBytes` is not read further (by its Content-Length, or as it arrives).
 */
export class BufferingHandler implements Dispatcher.DispatchHandler {
  private controller?: Dispatcher.DispatchController;
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  private settled = false;
  private readonly detach: () => void;
  private readonly wait: ConnectionWait;

  constructor(
    pool: PoolView,
    origin: string,
    signal: CancelSignal,
    private readonly maxBytes: number,
    private readonly resolve: (response: BufferedResponse) => void,
    private readonly reject: (error: Error) => void,
  ) {
    this.wait = new ConnectionWait(pool, origin, (error) => this.giveUp(error));
    this.detach = onCancel(signal, () => this.giveUp(this.wait.cancelled()));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    this.wait.connected();
    if (this.settled) controller.abort(new errors.RequestAbortedError());
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx: the real answer follows
    this.status = statusCode;
    this.headers = headers;
    if (Number(headers['content-length']) > this.maxBytes) this.tooLarge();
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) return this.tooLarge();
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    const chunks = this.chunks;
    if (chunks.length === 1 || this.bytes < LARGE_BODY) return this.answer(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    // A large answer (embeddings) is read into a reused buffer, handed back by whoever reads it.
    const scratch = scratchBuffers.concat(chunks);
    this.answer(scratch.bytes, scratch.release);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    this.stop(error);
  }

  /**
   * The body will not be read to its end. An error status is still that status, with '' (as
   * `send()` + `text()` treat it); anything else (a 2xx, no answer yet) fails with `error`.
   */
  private stop(error: Error): void {
    if (this.status !== 0 && !isSuccess(this.status)) this.answer(Buffer.alloc(0));
    else this.fail(error);
  }

  private answer(body: Buffer, release?: () => void): void {
    if (this.settled) return release?.();
    this.settled = true;
    this.detach();
    const headers = this.headers;
    this.resolve(new BufferedResponse(this.status, (name) => firstHeader(headers, name), body, release, this.wait.waitedMs));
  }

  private fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.wait.stop();
    this.detach();
    this.reject(error);
  }

  /** Stops reading an answer past `maxBytes`. */
  private tooLarge(): void {
    const error = responseTooLarge(this.maxBytes);
    this.stop(error);
    this.chunks.length = 0;
    this.controller?.abort(error);
  }

  /** Cancelled, or the wait for a connection ran out. */
  private giveUp(error: Error): void {
    if (this.settled) return;
    this.fail(error);
    this.controller?.abort(error);
  }
}
