import { jest } from '@jest/globals';
import { RequestContext } from '../http/request-context.js';
import { BatcherOptions, MicroBatcher, QueueFullError } from './micro-batcher.js';

interface Spec {
  model: string;
  dimensions?: number;
}
interface Result {
  vector: number[];
}
const laneKey = (spec: Spec) => (spec.dimensions === undefined ? spec.model : `${spec.model}#${spec.dimensions}`);

interface SentBatch {
  spec: Spec;
  texts: string[];
  ctx: RequestContext;
  succeed(): void;
  fail(error: unknown): void;
}

const vectorOf = (text: string): Result => ({ vector: [text.length] });
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A batcher whose upstream answers only when the test says so. */
function harness(options: Partial<BatcherOptions> = {}) {
  const sent: SentBatch[] = [];
  const batcher = new MicroBatcher<Spec, Result>(
    { batchSize: 3, concurrency: 2, coalesceMs: 0, ...options },
    laneKey,
    (spec, texts, ctx) =>
      new Promise<Result[]>((resolve, reject) => {
        sent.push({ spec, texts, ctx, succeed: () => resolve(texts.map(vectorOf)), fail: reject });
      }),
  );
  return { batcher, sent };
}

describe(MicroBatcher.name, () => {
  it('cuts batches of batchSize and keeps at most `concurrency` in flight', async () => {
    const { batcher, sent } = harness();
    const ticket = batcher.submit({ model: 'm' }, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    await tick();
    expect(sent.map((b) => b.texts)).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e', 'f'],
    ]);
    expect(batcher.batchesInFlight).toBe(2);
    expect(batcher.queued).toBe(1);

    sent[0].succeed();
    await tick();
    expect(sent).toHaveLength(3);
    expect(sent[2].texts).toEqual(['g']);
    sent[1].succeed();
    sent[2].succeed();
    await expect(ticket.done).resolves.toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map(vectorOf));
    expect(batcher.batchesInFlight).toBe(0);
    expect(batcher.stats).toEqual({ batches: 3, texts: 7, dropped: 0, failedBatches: 0 });
  });

  it('answers each ticket in its own order, sharing texts that are queued or in flight', async () => {
    const { batcher, sent } = harness({ batchSize: 10 });
    const first = batcher.submit({ model: 'm' }, ['x', 'shared']);
    const second = batcher.submit({ model: 'm' }, ['shared', 'yy']);
    await tick();
    expect(sent.map((b) => b.texts)).toEqual([['x', 'shared'], ['yy']]);
    sent.forEach((b) => b.succeed());
    await expect(first.done).resolves.toEqual([vectorOf('x'), vectorOf('shared')]);
    await expect(second.done).resolves.toEqual([vectorOf('shared'), vectorOf('yy')]);
  });

  it('keeps embedding spaces apart: the same text for two models or dimensions is two requests', async () => {
    const { batcher, sent } = harness();
    batcher.submit({ model: 'a' }, ['t']);
    batcher.submit({ model: 'b' }, ['t']);
    batcher.submit({ model: 'b', dimensions: 64 }, ['t']);
    await tick();
    expect(sent.map((b) => b.spec)).toEqual([{ model: 'a' }, { model: 'b' }]);
    sent[0].succeed();
    await tick();
    expect(sent[2].spec).toEqual({ model: 'b', dimensions: 64 });
  });

  describe('coalescing window', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('merges texts that arrive within the window into one batch', async () => {
      const { batcher, sent } = harness({ batchSize: 10, coalesceMs: 5 });
      batcher.submit({ model: 'm' }, ['a']);
      jest.advanceTimersByTime(3);
      batcher.submit({ model: 'm' }, ['b', 'c']);
      expect(sent).toHaveLength(0);
      jest.advanceTimersByTime(2);
      await Promise.resolve();
      expect(sent.map((b) => b.texts)).toEqual([['a', 'b', 'c']]);
    });

    it('sends a full batch at once, leaving the remainder for the window', async () => {
      const { batcher, sent } = harness({ batchSize: 2, coalesceMs: 1000 });
      batcher.submit({ model: 'm' }, ['a', 'b', 'c']);
      await Promise.resolve();
      expect(sent.map((b) => b.texts)).toEqual([['a', 'b']]);
      jest.advanceTimersByTime(1000);
      await Promise.resolve();
      expect(sent.map((b) => b.texts)).toEqual([['a', 'b'], ['c']]);
    });
  });

  describe('coalesceWhenIdle: false', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('sends at once when nothing of its lane is in flight, and batches behind a batch in flight', async () => {
      const { batcher, sent } = harness({ batchSize: 10, concurrency: 4, coalesceMs: 5, coalesceWhenIdle: false });
      const first = batcher.submit({ model: 'm' }, ['q1']);
      await Promise.resolve();
      expect(sent.map((b) => b.texts)).toEqual([['q1']]);
      // q1 is in flight: later texts of the lane wait for the window and leave together.
      batcher.submit({ model: 'm' }, ['q2']);
      batcher.submit({ model: 'm' }, ['q3']);
      // Another lane is idle: its text leaves at once.
      batcher.submit({ model: 'other' }, ['o1']);
      await Promise.resolve();
      expect(sent.map((b) => b.texts)).toEqual([['q1'], ['o1']]);
      jest.advanceTimersByTime(4);
      await Promise.resolve();
      expect(sent).toHaveLength(2);
      jest.advanceTimersByTime(1);
      await Promise.resolve();
      expect(sent.map((b) => b.texts)).toEqual([['q1'], ['o1'], ['q2', 'q3']]);
      // Once the lane has nothing in flight again, the next text does not wait.
      sent[0].succeed();
      sent[2].succeed();
      for (let i = 0; i < 10; i++) await Promise.resolve();
      batcher.submit({ model: 'm' }, ['q4']);
      await Promise.resolve();
      expect(sent.at(-1)?.texts).toEqual(['q4']);
      jest.runAllTimers();
      await expect(first.done).resolves.toEqual([vectorOf('q1')]);
    });

    it('by default (the classifier), a lone text waits out the window even when its lane is idle', async () => {
      const { batcher, sent } = harness({ batchSize: 10, coalesceMs: 5 });
      batcher.submit({ model: 'm' }, ['a']);
      await Promise.resolve();
      expect(sent).toHaveLength(0);
      jest.advanceTimersByTime(5);
      await Promise.resolve();
      expect(sent.map((b) => b.texts)).toEqual([['a']]);
    });
  });

  it('a released ticket takes its queued texts out; texts another ticket wants stay', async () => {
    const { batcher, sent } = harness({ batchSize: 2, concurrency: 1 });
    const busy = batcher.submit({ model: 'm' }, ['a', 'b']);
    const leaving = batcher.submit({ model: 'm' }, ['c', 'd', 'shared']);
    const staying = batcher.submit({ model: 'm' }, ['shared']);
    await tick();
    expect(batcher.queued).toBe(3);

    leaving.release(new Error('client gone'));
    await expect(leaving.done).rejects.toThrow('client gone');
    expect(batcher.queued).toBe(1);
    expect(batcher.stats.dropped).toBe(2);
    sent[0].succeed();
    await tick();
    expect(sent.map((b) => b.texts)).toEqual([['a', 'b'], ['shared']]);
    sent[1].succeed();
    await expect(staying.done).resolves.toEqual([vectorOf('shared')]);
    await expect(busy.done).resolves.toHaveLength(2);
  });

  it('aborts an in-flight batch once no ticket wants any of its texts', async () => {
    const { batcher, sent } = harness({ batchSize: 10 });
    const a = batcher.submit({ model: 'm' }, ['a', 'b']);
    const b = batcher.submit({ model: 'm' }, ['b']);
    await tick();
    const { ctx } = sent[0];
    a.release(new Error('a left'));
    expect(ctx.clientClosed).toBe(false);
    b.release(new Error('b left'));
    expect(ctx.clientClosed).toBe(true);
    await expect(a.done).rejects.toThrow('a left');
  });

  it('a failed batch fails every ticket waiting on it and drops their queued texts before the next batch leaves', async () => {
    const { batcher, sent } = harness({ batchSize: 2, concurrency: 1 });
    const big = batcher.submit({ model: 'm' }, ['a', 'b', 'c', 'd', 'e']);
    const other = batcher.submit({ model: 'm' }, ['z']);
    await tick();
    sent[0].fail(new Error('upstream 500'));
    await expect(big.done).rejects.toThrow('upstream 500');
    await tick();
    // 'c'..'e' belonged only to the failed call; 'z' still goes.
    expect(sent.map((b) => b.texts)).toEqual([['a', 'b'], ['z']]);
    sent[1].succeed();
    await expect(other.done).resolves.toEqual([vectorOf('z')]);
  });

  it.each([
    [false, true],
    [true, false],
  ])('with finishInFlightOnFailure %s, a failed batch aborts the other batches of its call in flight: %s', async (finish, aborted) => {
    const { batcher, sent } = harness({ batchSize: 2, concurrency: 4, finishInFlightOnFailure: finish });
    const call = batcher.submit({ model: 'm' }, ['a', 'b', 'c', 'd']);
    await tick();
    expect(sent).toHaveLength(2);
    sent[0].fail(new Error('upstream 500'));
    await expect(call.done).rejects.toThrow('upstream 500');
    expect(sent[1].ctx.clientClosed).toBe(aborted);
    sent[1].succeed();
    await tick();
    expect(batcher.batchesInFlight).toBe(0);
    // A caller that leaves still aborts what only it wanted, whatever the option.
    const leaving = batcher.submit({ model: 'm' }, ['x']);
    await tick();
    leaving.release(new Error('client gone'));
    expect(sent[2].ctx.clientClosed).toBe(true);
  });

  it('a text whose batch failed is sent again for a later call', async () => {
    const { batcher, sent } = harness();
    const first = batcher.submit({ model: 'm' }, ['t']);
    await tick();
    sent[0].fail(new Error('boom'));
    await expect(first.done).rejects.toThrow('boom');
    const second = batcher.submit({ model: 'm' }, ['t']);
    await tick();
    expect(sent).toHaveLength(2);
    sent[1].succeed();
    await expect(second.done).resolves.toEqual([vectorOf('t')]);
  });

  it('a send that throws synchronously fails its tickets instead of escaping', async () => {
    const batcher = new MicroBatcher<Spec, Result>({ batchSize: 2, concurrency: 1, coalesceMs: 0 }, laneKey, () => {
      throw new Error('sync boom');
    });
    await expect(batcher.submit({ model: 'm' }, ['a']).done).rejects.toThrow('sync boom');
    expect(batcher.batchesInFlight).toBe(0);
  });

  describe('maxQueued', () => {
    it('refuses a submit that would queue more than the limit, queueing nothing of it', async () => {
      const { batcher, sent } = harness({ batchSize: 2, concurrency: 1, maxQueued: 4 });
      const first = batcher.submit({ model: 'm' }, ['a', 'b', 'c', 'd']); // a,b in flight; c,d queued
      await tick();
      expect(batcher.queued).toBe(2);
      let refused: unknown;
      try {
        batcher.submit({ model: 'm' }, ['e', 'f', 'g']);
      } catch (error) {
        refused = error;
      }
      expect(refused).toBeInstanceOf(QueueFullError);
      expect((refused as QueueFullError).message).toBe('2 texts are queued; the limit is 4');
      expect(batcher.queued).toBe(2);
      // Texts already queued cost nothing more, so this fits.
      const shared = batcher.submit({ model: 'm' }, ['c', 'd', 'e']);
      expect(batcher.queued).toBe(3);
      sent[0].succeed();
      await tick();
      sent[1].succeed();
      await tick();
      sent[2].succeed();
      await expect(first.done).resolves.toHaveLength(4);
      await expect(shared.done).resolves.toEqual(['c', 'd', 'e'].map(vectorOf));
    });
  });
});
