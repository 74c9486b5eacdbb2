import { setTimeout as sleep } from 'node:timers/promises';
import { RequestDeadline } from './request-deadline.js';
import { RequestContext } from '../common/http/request-context.js';

/** Resolves with the ms it took for `signal` to abort, or rejects after `withinMs`. */
function abortedWithin(signal: AbortSignal, withinMs: number): Promise<number> {
  const started = performance.now();
  if (signal.aborted) return Promise.resolve(0);
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`signal did not abort within ${withinMs} ms`)), withinMs);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(guard);
        resolve(performance.now() - started);
      },
      { once: true },
    );
  });
}

describe(RequestDeadline.name, () => {
  const deadlines: RequestDeadline[] = [];
  const track = (deadline: RequestDeadline): RequestDeadline => {
    deadlines.push(deadline);
    return deadline;
  };
  afterEach(() => {
    for (const deadline of deadlines.splice(0)) deadline.dispose();
  });

  it('does not fire before the deadline', async () => {
    const deadline = track(new RequestDeadline(new RequestContext(), 80));
    await sleep(30);
    expect(deadline.signal.aborted).toBe(false);
    expect(deadline.cause).toBeNull();
  });

  it("fires 'timeout' after the deadline", async () => {
    const deadline = track(new RequestDeadline(new RequestContext(), 30));
    const elapsed = await abortedWithin(deadline.signal, 1000);
    expect(elapsed).toBeGreaterThanOrEqual(25);
    expect(deadline.cause).toBe('timeout');
  });

  it("a client abort fires 'client' at once", () => {
    const client = new RequestContext();
    const deadline = track(new RequestDeadline(client, 10_000));
    expect(deadline.signal.aborted).toBe(false);
    client.markClientClosed();
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.cause).toBe('client');
  });

  it("an already-aborted client signal fires 'client' immediately", () => {
    const client = new RequestContext();
    client.markClientClosed();
    const deadline = track(new RequestDeadline(client, 10_000));
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.cause).toBe('client');
  });

  it('keeps the first cause: a later deadline does not overwrite a client abort', async () => {
    const client = new RequestContext();
    const deadline = track(new RequestDeadline(client, 20));
    client.markClientClosed();
    await sleep(60);
    expect(deadline.cause).toBe('client');
  });

  it('keeps the first cause: a later client abort does not overwrite a timeout', async () => {
    const client = new RequestContext();
    const deadline = track(new RequestDeadline(client, 20));
    await abortedWithin(deadline.signal, 1000);
    client.markClientClosed();
    expect(deadline.cause).toBe('timeout');
  });

  it("after switchToIdle, touching keeps it alive past the original deadline, then it fires 'idle'", async () => {
    const deadline = track(new RequestDeadline(new RequestContext(), 60));
    deadline.switchToIdle();
    const started = performance.now();
    while (performance.now() - started < 200) {
      await sleep(15);
      deadline.touch();
      expect(deadline.signal.aborted).toBe(false);
    }
    // Stop touching: the idle gap now runs out.
    const elapsed = await abortedWithin(deadline.signal, 1000);
    expect(elapsed).toBeGreaterThanOrEqual(40);
    expect(deadline.cause).toBe('idle');
  });

  it("switchToIdle restarts the gap, and an idle stream that is never touched fires 'idle'", async () => {
    const deadline = track(new RequestDeadline(new RequestContext(), 100));
    await sleep(60);
    deadline.switchToIdle();
    await sleep(60); // 120 ms since start: past the original deadline, but only 60 ms idle
    expect(deadline.signal.aborted).toBe(false);
    await abortedWithin(deadline.signal, 1000);
    expect(deadline.cause).toBe('idle');
  });

  it('a client abort during the idle phase is still reported as client', () => {
    const client = new RequestContext();
    const deadline = track(new RequestDeadline(client, 10_000));
    deadline.switchToIdle();
    client.markClientClosed();
    expect(deadline.cause).toBe('client');
  });

  it('dispose stops the timer', async () => {
    const deadline = new RequestDeadline(new RequestContext(), 20);
    deadline.dispose();
    await sleep(60);
    expect(deadline.signal.aborted).toBe(false);
    expect(deadline.cause).toBeNull();
  });

  it('dispose stops listening to the client', () => {
    const client = new RequestContext();
    const deadline = new RequestDeadline(client, 10_000);
    deadline.dispose();
    client.markClientClosed();
    expect(deadline.signal.aborted).toBe(false);
    expect(deadline.cause).toBeNull();
  });

  it('dispose is safe to call twice, and after the signal fired', async () => {
    const deadline = new RequestDeadline(new RequestContext(), 10);
    await abortedWithin(deadline.signal, 1000);
    deadline.dispose();
    deadline.dispose();
    expect(deadline.cause).toBe('timeout');
  });
});

describe(`${RequestDeadline.name} before the first event`, () => {
  it('does not let keep-alive chunks extend the response deadline', async () => {
    const deadline = new RequestDeadline(new RequestContext(), 80);
    const ticker = setInterval(() => deadline.touch(), 20);
    try {
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(deadline.signal.aborted).toBe(true);
      expect(deadline.cause).toBe('timeout');
    } finally {
      clearInterval(ticker);
      deadline.dispose();
    }
  });
});
