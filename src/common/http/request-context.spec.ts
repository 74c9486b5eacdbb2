import { jest } from '@jest/globals';
import { ApiError, ClientClosedError } from '../errors/index.js';
import { RequestContext } from './request-context.js';

describe(RequestContext.name, () => {
  it('tells close listeners and aborts a signal taken before or after the close', () => {
    const ctx = new RequestContext();
    const early = ctx.signal;
    let calls = 0;
    const unsubscribeOther = ctx.onCancel(() => calls++);
    ctx.onCancel(() => calls++);
    unsubscribeOther();
    ctx.markClientClosed();
    ctx.markClientClosed();
    expect(calls).toBe(1);
    expect(early.aborted).toBe(true);
    expect(new RequestContext().signal.aborted).toBe(false);
    expect(ctx.clientClosed).toBe(true);
  });

  it('calls a listener added after the close at once', () => {
    const ctx = new RequestContext();
    ctx.markClientClosed();
    let called = false;
    ctx.onCancel(() => (called = true));
    expect(called).toBe(true);
    expect(ctx.signal.aborted).toBe(true);
  });

  it('a shutdown cancels with its own reason and a 503 error, not a client close', () => {
    const ctx = new RequestContext();
    const reasons: string[] = [];
    ctx.onCancel((reason) => reasons.push(reason));
    ctx.cancel('shutdown');
    ctx.markClientClosed();
    expect(reasons).toEqual(['shutdown']);
    expect(ctx.cancelled).toBe('shutdown');
    expect(ctx.clientClosed).toBe(false);
    expect(ctx.signal.aborted).toBe(true);
    const error = RequestContext.cancellationError('shutdown') as ApiError;
    expect(error.status).toBe(503);
    expect(error.code).toBe('shutting_down');
    expect(RequestContext.cancellationError('client')).toBeInstanceOf(ClientClosedError);
  });

  it('reports own time as total minus upstream wait in Server-Timing', () => {
    const ctx = new RequestContext();
    ctx.upstreamMs = 5;
    expect(ctx.ownMs(ctx.startedAt + 7)).toBeCloseTo(2);
    expect(ctx.serverTiming(ctx.startedAt + 7)).toBe('ballast;dur=2.000;desc="ballast own time", upstream;dur=5.000');
  });

  it('counts time waiting on the vector store once however many operations overlap, failed ones too', async () => {
    const ctx = new RequestContext();
    let now = ctx.startedAt;
    const clock = jest.spyOn(performance, 'now').mockImplementation(() => now);
    try {
      expect(ctx.serverTiming(now)).not.toContain('store');
      let settleFirst!: (value: number) => void;
      let failSecond!: (error: Error) => void;
      const first = ctx.timeStore(() => new Promise<number>((resolve) => (settleFirst = resolve)));
      now += 2;
      const second = ctx.timeStore(() => new Promise<number>((_, reject) => (failSecond = reject)));
      now += 3;
      settleFirst(1);
      await expect(first).resolves.toBe(1);
      now += 4;
      failSecond(new Error('store gone'));
      await expect(second).rejects.toThrow('store gone');
      expect(ctx.storeMs).toBe(9);
      now += 10;
      await ctx.timeStore(async () => {
        now += 1;
      });
      expect(ctx.storeMs).toBe(10);
      expect(ctx.serverTiming(now)).toBe(
        'ballast;dur=20.000;desc="ballast own time", upstream;dur=0.000, store;dur=10.000;desc="vector store, within ballast own time"',
      );
    } finally {
      clock.mockRestore();
    }
  });
});
