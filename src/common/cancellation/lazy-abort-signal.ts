/**
 * An AbortSignal made only when someone asks for it, and aborted with its owner: an AbortController
 * plus its signal cost ~10 µs in Node 20, and most requests never need one (RequestContext,
 * AbortEmitter). `get(aborted)` makes it on first use, already aborted if the owner was.
 */
export class LazyAbortSignal {
  private controller?: AbortController;

  get(aborted: boolean): AbortSignal {
    this.controller ??= new AbortController();
    if (aborted) this.controller.abort();
    return this.controller.signal;
  }

  /** Aborts the signal if it was made; one made later starts aborted (through `get`). */
  abort(): void {
    this.controller?.abort();
  }
}
