import { Injectable, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AppConfig } from '../../config/app-config.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { ApiError, ClientClosedError, InternalError } from '../errors/index.js';
import { RequestContext } from '../http/request-context.js';
import { SseHeartbeat } from './sse-heartbeat.js';
import { SseWriter } from './sse.writer.js';

/**
 * Answers a request with an event stream. `opening` resolves once the source is ready (e.g. the
 * upstream accepted the request); until then a failure is still an ordinary HTTP error with its own
 * status. After the headers are out, a failure becomes an `event: error` and the stream is ended;
 * the response is always ended, whatever happens.
 */
@Injectable()
export class SseResponder {
  private readonly logger = new Logger(SseResponder.name);
  /** One heartbeat timer for all of this responder's streams. */
  private readonly heartbeat: SseHeartbeat | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    this.heartbeat = config.chat.heartbeatMs > 0 ? new SseHeartbeat(config.chat.heartbeatMs) : undefined;
  }

  /** Events are objects, each sent as one JSON `data:` line. */
  send(reply: FastifyReply, ctx: RequestContext, opening: Promise<AsyncIterable<unknown>>): Promise<void> {
    return this.stream(reply, ctx, opening, (writer, event) => writer.data(event, ctx.signal));
  }

  /** Events are already-serialized payloads (an upstream's own events), relayed untouched. */
  relay(reply: FastifyReply, ctx: RequestContext, opening: Promise<AsyncIterable<string>>): Promise<void> {
    return this.stream(reply, ctx, opening, (writer, event) => writer.rawData(event, ctx.signal));
  }

  private async stream<T>(
    reply: FastifyReply,
    ctx: RequestContext,
    opening: Promise<AsyncIterable<T>>,
    write: (writer: SseWriter, event: T) => Promise<void>,
  ): Promise<void> {
    // Errors thrown here (before any byte is written) reach the exception filter as usual.
    const events = await opening;
    reply.hijack();
    const writer = new SseWriter(reply.raw, this.heartbeat);
    ctx.streamOpened();
    writer.open({ 'server-timing': ctx.serverTiming() });
    this.metrics.streamsOpen.inc();
    try {
      for await (const event of events) {
        await write(writer, event);
        this.metrics.streamEvents.inc();
      }
      writer.done();
    } catch (error) {
      if (!ctx.clientClosed && !(error instanceof ClientClosedError)) writer.error(this.toErrorBody(error));
    } finally {
      writer.end();
      this.metrics.streamsOpen.dec();
    }
  }

  private toErrorBody(error: unknown): object {
    if (error instanceof ApiError) return error.toBody();
    this.logger.error(`Stream failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return new InternalError('The stream failed').toBody();
  }
}
