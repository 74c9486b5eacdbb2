import { LazyAbortSignal } from './lazy-abort-signal.js';

describe('LazyAbortSignal', () => {
  it('gives the same signal every time, aborted when its owner aborts', () => {
    const lazy = new LazyAbortSignal();
    const signal = lazy.get(false);
    expect(lazy.get(false)).toBe(signal);
    expect(signal.aborted).toBe(false);
    lazy.abort();
    expect(signal.aborted).toBe(true);
  });

  it('makes a signal that starts aborted when the owner was aborted before anyone asked', () => {
    const lazy = new LazyAbortSignal();
    lazy.abort(); // nothing made yet: a no-op
    expect(lazy.get(true).aborted).toBe(true);
  });

  it('aborting twice is harmless', () => {
    const lazy = new LazyAbortSignal();
    const signal = lazy.get(false);
    let fired = 0;
    signal.addEventListener('abort', () => fired++);
    lazy.abort();
    lazy.abort();
    expect(fired).toBe(1);
  });
});
