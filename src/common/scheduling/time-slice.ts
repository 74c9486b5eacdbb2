import { setImmediate as nextTurn } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';

/**
 * Cuts a long CPU loop into slices of about `sliceMs`, giving the event loop a turn between them, so
 * other requests (health probes, streams) never wait behind one big job:
 * `if (slice.spent()) await slice.pause();` between steps.
 */
export class TimeSlice {
  private started = performance.now();

  constructor(private readonly sliceMs = 1) {}

  spent(): boolean {
    return performance.now() - this.started >= this.sliceMs;
  }

  async pause(): Promise<void> {
    await nextTurn();
    this.started = performance.now();
  }
}
