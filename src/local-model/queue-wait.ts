/**
 * How long a text joining the classifier queue will wait, from how fast the workers have been
 * getting through full batches: an exponentially weighted mean of the time per text (weight 0.2 on
 * the newest batch), so it follows a model's real cost on this machine, and changes in it (other
 * load on the cores, longer texts) within a few batches.
 *
 * Only full batches are counted. A long queue is served in full batches, and a batch of one text
 * costs a worker round trip that a full batch shares out, so small batches would overstate the
 * per-text cost of exactly the queue this estimate is for. Until a full batch has finished there
 * is no estimate, and only the queue's bound in texts applies.
 */
export class QueueWaitEstimate {
  private msPerText: number | undefined;

  constructor(
    private readonly fullBatch: number,
    private readonly workers: number,
  ) {}

  /** A batch of `texts` texts took `ms` on one worker. */
  record(texts: number, ms: number): void {
    if (texts < this.fullBatch || !(ms >= 0)) return;
    const sample = ms / texts;
    this.msPerText = this.msPerText === undefined ? sample : this.msPerText + 0.2 * (sample - this.msPerText);
  }

  /** Expected wait, in ms, of a text queued behind `ahead` others; undefined until a full batch has been timed. */
  waitMs(ahead: number): number | undefined {
    return this.msPerText === undefined ? undefined : (ahead * this.msPerText) / this.workers;
  }
}
