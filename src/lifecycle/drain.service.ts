import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:http';
import { AppConfig } from '../config/app-config.js';
import { RequestTracker } from './request-tracker.js';

/**
 * Graceful shutdown, first of the shutdown hooks (SIGTERM → app.close()): stop accepting (the
 * listening socket closes; requests on open connections get 503 `shutting_down` with
 * `Connection: close`), let what is in flight finish for up to SHUTDOWN_GRACE_MS, then end whatever
 * is left: streams with an SSE error event, other requests with a 503. Only then do the later
 * hooks destroy the worker pool and close the upstream client. Nothing accepted is dropped silently.
 */
@Injectable()
export class DrainService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(DrainService.name);

  constructor(
    private readonly tracker: RequestTracker,
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: AppConfig,
  ) {}

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.tracker.startDraining();
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (server?.listening) server.close();
    server?.closeIdleConnections?.();
    const graceMs = this.config.server.shutdownGraceMs;
    const inFlight = this.tracker.inFlight;
    if (inFlight > 0) this.logger.log(`Shutting down${signal ? ` (${signal})` : ''}: waiting up to ${graceMs} ms for ${inFlight} request(s)`);
    if (await this.tracker.whenIdle(graceMs)) return;
    const cancelled = this.tracker.cancelAll();
    this.logger.warn(`Grace period over: ended ${cancelled} request(s) still in flight with a shutting_down error`);
    // Give them a moment to write their 503 or SSE error event.
    await this.tracker.whenIdle(2_000);
  }
}
