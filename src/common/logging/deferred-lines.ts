import type { FastifyBaseLogger } from 'fastify';

/** How long a request line may wait before it is written (its `durationMs` is exact either way). */
export const REQUEST_LINE_DELAY_MS = 10;

type Level = 'info' | 'warn';

/** Every DeferredLines not yet closed; one exit listener for all of them (a process may run several apps). */
const open = new Set<DeferredLines>();
let exitListener: (() => void) | undefined;

function flushAllAtExit(lines: DeferredLines): void {
  open.add(lines);
  if (exitListener) return;
  exitListener = () => {
    for (const each of open) each.flush();
  };
  // First in line at exit, so the lines are in the log stream before it is flushed synchronously.
  process.prependListener('exit', exitListener);
}

/**
 * The per-request log lines, handed to pino a few milliseconds late and in batches. A line is
 * made when the response has gone out, which is just when a keep-alive client sends its next
 * request: written there, pino's formatting and the write cost ~29 µs on the event loop at
 * concurrency 1 (its code is cold by then), and the next request waited behind it. Queued, the
 * lines go out together on a timer, mostly while the loop waits on an upstream, and cost less
 * each (docs/benchmarks.md). Lines still pending when the server closes or the process exits are
 * written then; a line is lost only if the process dies without running its exit handlers.
 */
export class DeferredLines {
  private pending: Array<Level | object | string> = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly logger: FastifyBaseLogger,
    private readonly delayMs = REQUEST_LINE_DELAY_MS,
  ) {
    flushAllAtExit(this);
  }

  info(fields: object, msg: string): void {
    this.push('info', fields, msg);
  }

  warn(fields: object, msg: string): void {
    this.push('warn', fields, msg);
  }

  /** Writes every pending line now. */
  readonly flush = (): void => {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const lines = this.pending;
    this.pending = [];
    for (let i = 0; i < lines.length; i += 3) this.logger[lines[i] as Level](lines[i + 1] as object, lines[i + 2] as string);
  };

  /** Writes what is pending; nothing is written at exit for it any more (the server is closing). */
  close(): void {
    this.flush();
    open.delete(this);
  }

  private push(level: Level, fields: object, msg: string): void {
    this.pending.push(level, fields, msg);
    if (this.timer === null) {
      this.timer = setTimeout(this.flush, this.delayMs);
      this.timer.unref();
    }
  }
}
