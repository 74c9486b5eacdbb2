import type { ServerResponse } from 'node:http';
import { once } from 'node:events';
import { HeartbeatTarget, SseHeartbeat } from './sse-heartbeat.js';

/**
 * Frames Server-Sent Events onto one response. Each event is written (and so flushed) the moment it
 * is given; while nothing is written, a shared heartbeat (SseHeartbeat) sends a comment line so idle
 * proxies keep the connection; writes wait for 'drain' so a slow client slows the upstream instead
 * of growing memory.
 */
export class SseWriter implements HeartbeatTarget {
  /** Something was written since the heartbeat's last tick. */
  private wrote = false;
  private beating = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly heartbeat?: SseHeartbeat,
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
    if (this.heartbeat) {
      this.beating = true;
      this.wrote = true;
      this.heartbeat.add(this);
    }
  }

  beat(): void {
    if (!this.wrote) this.write(': ping\n\n');
    this.wrote = false;
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
    if (this.beating) {
      this.beating = false;
      this.heartbeat?.delete(this);
    }
    if (!this.res.writableEnded && !this.res.destroyed) this.res.end();
  }

  private write(frame: string): boolean {
    if (this.res.writableEnded || this.res.destroyed) return true;
    this.wrote = true;
    return this.res.write(frame);
  }

  private async writeAndWait(frame: string, signal: AbortSignal): Promise<void> {
    if (!this.write(frame)) await once(this.res, 'drain', { signal });
  }
}
