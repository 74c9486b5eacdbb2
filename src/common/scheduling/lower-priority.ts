import { setPriority } from 'node:os';

/**
 * Lowers the calling thread's scheduling priority to `nice` (on Linux niceness is per thread: pid 0
 * is the calling thread, and threads it starts later inherit it). For a worker thread doing heavy
 * CPU work (inference, SQL in WASM): the event loop keeps the default, so when cores are short the
 * kernel runs it first and requests stay fast. Where this is refused, the thread runs as is.
 */
export function lowerPriority(nice: number): void {
  if (nice <= 0) return;
  try {
    setPriority(0, nice);
  } catch {
    // Not permitted or not supported here: same priority as the event loop.
  }
}
