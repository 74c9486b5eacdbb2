/** What the heartbeat drives: a stream that says whether it wrote since the last tick. */
export interface HeartbeatTarget {
  /** Called every half interval: write a ping if nothing was written since the previous call. */
  beat(): void;
}

/**
 * One timer for the `: ping` heartbeats of every open stream, instead of one interval per stream
 * refreshed on every write (a timer-list operation per event, and a Timeout object per stream). It
 * ticks every `intervalMs / 2` while any stream is open; a stream that wrote nothing during a whole
 * tick pings, so a silent stream pings after between half and all of `intervalMs` of silence.
 */
export class SseHeartbeat {
  private readonly targets = new Set<HeartbeatTarget>();
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly intervalMs: number) {}

  add(target: HeartbeatTarget): void {
    this.targets.add(target);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), Math.max(1, Math.floor(this.intervalMs / 2)));
      this.timer.unref();
    }
  }

  delete(target: HeartbeatTarget): void {
    this.targets.delete(target);
    if (this.targets.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  get size(): number {
    return this.targets.size;
  }

  private tick(): void {
    for (const target of this.targets) target.beat();
  }
}
