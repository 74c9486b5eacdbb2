import type { ServerResponse } from 'node:http';
import { once } from 'node:events';

/**
 * Frames Server-Sent Events onto one response. Each event is written (and so flushed) the moment it
 * is given; a comment line goes out after `heartbeatMs` without any write, so idle proxies keep the
 * connection; writes wait for 'drain' so a slow client slows the upstream instead of growing memory.
 */
export class SseWriter {
  private heartbeat?: NodeJS.Timeout;

  constructor(
    private readonly res: ServerResponse,
    private readonly heartbeatMs: number,
  ) {}

  open(headers: Record<string, string>): void {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx and some ingress controllers buffer responses unless told not to.
      'x-accel-buffering': 'no',
      ...headers,
    });
    // Send the headers now: a client should see the stream open before the first token.
    this.res.flushHeaders();
    if (this.heartbeatMs > 0) {
      this.heartbeat = setInterval(() => this.write(': ping\n\n'), this.heartbeatMs);
      this.heartbeat.unref();
    }
  }

  /** `data: <json>`; JSON keeps a newline inside a token from breaking the frame. */
  data(payload: unknown, signal: AbortSignal): Promise<void> {
    return this.writeAndWait(`data: ${JSON.stringify(payload)}\n\n`, signal);
  }

  /**
   * `data: <text>` for a payload that is already serialized (relayed as it came); a payload spanning
   * several lines becomes several `data:` lines, as the SSE format requires.
   */
  rawData(text: string, signal: AbortSignal): Promise<void> {
    const frame = text.includes('\n') ? `${text.split('\n').map((line) => `data: ${line}`).join('\n')}\n\n` : `data: ${text}\n\n`;
    return this.writeAndWait(frame, signal);
  }

  done(): void {
    this.write('data: [DONE]\n\n');
  }

  error(body: unknown): void {
    this.write(`event: error\ndata: ${JSON.stringify(body)}\n\n`);
  }

  end(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (!this.res.writableEnded && !this.res.destroyed) this.res.end();
  }

  private write(frame: string): boolean {
    if (this.res.writableEnded || this.res.destroyed) return true;
    this.heartbeat?.refresh();
    return this.res.write(frame);
  }

  private async writeAndWait(frame: string, signal: AbortSignal): Promise<void> {
    if (!this.write(frame)) await once(this.res, 'drain', { signal });
  }
}
