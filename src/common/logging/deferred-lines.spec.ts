import { jest } from '@jest/globals';
import type { FastifyBaseLogger } from 'fastify';
import { DeferredLines } from './deferred-lines.js';

function fakeLogger() {
  const written: Array<[string, object, string]> = [];
  const logger = {
    info: (fields: object, msg: string) => written.push(['info', fields, msg]),
    warn: (fields: object, msg: string) => written.push(['warn', fields, msg]),
  } as unknown as FastifyBaseLogger;
  return { logger, written };
}

describe('DeferredLines', () => {
  afterEach(() => jest.useRealTimers());

  it('writes nothing at once, then every pending line in order, with its level, after the delay', () => {
    jest.useFakeTimers();
    const { logger, written } = fakeLogger();
    const lines = new DeferredLines(logger, 10);
    lines.info({ status: 200 }, 'request completed');
    lines.warn({ status: 502 }, 'request failed');
    lines.info({ status: 499 }, 'client closed request');
    expect(written).toEqual([]);
    jest.advanceTimersByTime(9);
    expect(written).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(written).toEqual([
      ['info', { status: 200 }, 'request completed'],
      ['warn', { status: 502 }, 'request failed'],
      ['info', { status: 499 }, 'client closed request'],
    ]);
    lines.close();
  });

  it('waits at most the delay from the first pending line (a steady stream does not postpone it)', () => {
    jest.useFakeTimers();
    const { logger, written } = fakeLogger();
    const lines = new DeferredLines(logger, 10);
    lines.info({ n: 1 }, 'a');
    jest.advanceTimersByTime(6);
    lines.info({ n: 2 }, 'b');
    jest.advanceTimersByTime(4);
    expect(written.map(([, f]) => f)).toEqual([{ n: 1 }, { n: 2 }]);
    lines.info({ n: 3 }, 'c');
    jest.advanceTimersByTime(10);
    expect(written).toHaveLength(3);
    lines.close();
  });

  it('writes what is pending when closed and when the process exits, with one exit listener for all of them', () => {
    const a = fakeLogger();
    const b = fakeLogger();
    const first = new DeferredLines(a.logger, 60_000);
    const before = process.listenerCount('exit');
    const second = new DeferredLines(b.logger, 60_000);
    expect(process.listenerCount('exit')).toBe(before); // no listener per instance
    first.info({ n: 1 }, 'a');
    second.info({ n: 2 }, 'b');
    process.listeners('exit')[0]!.call(process, 0); // what Node does at exit; ours runs first
    expect(a.written).toHaveLength(1);
    expect(b.written).toHaveLength(1);
    second.warn({ n: 3 }, 'c');
    second.close();
    expect(b.written).toHaveLength(2);
    second.info({ n: 4 }, 'd'); // after close: only a timer (60 s here) or nothing would write it
    process.listeners('exit')[0]!.call(process, 0);
    expect(b.written).toHaveLength(2);
    second.flush(); // clears its timer
    first.close();
  });
});
