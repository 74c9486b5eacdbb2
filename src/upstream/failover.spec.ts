import { jest } from '@jest/globals';
import { InvalidRequestError } from '../common/errors/index.js';
import { UpstreamFailureError } from './errors/upstream-failure.error.js';
import { UpstreamRateLimitedError } from './errors/upstream-rate-limited.error.js';
import { UpstreamTimeoutError } from './errors/upstream-timeout.error.js';
import { classify, failover, healthiestFirst, inPanic, isBreakerFailure, retryAfterMs } from './failover.js';
import { RetryBudget } from './retry-budget.js';
import { UpstreamTarget } from './upstream-target.js';

/** A target whose breaker opens after `minCalls` calls that all failed (rate 50 %, so random failures at p=0.5 rarely do). */
const target = (name: string, minCalls = 100, cooldownMs = 60_000) =>
  new UpstreamTarget(
    { name, baseUrl: `http://${name}.test/v1`, apiKey: 'k' },
    { failureRate: 0.5, window: Math.max(minCalls, 10), minCalls, cooldownMs, maxCooldownMs: cooldownMs * 4, isFailure: isBreakerFailure },
  );
const deadline = (remainingMs = 10_000) => ({ signal: new AbortController().signal, cause: null, remainingMs });
const serverError = () => new UpstreamFailureError('boom', 'upstream_http_error', 500);

describe('failover', () => {
  it('tries each upstream once in order, then retries, up to targets + maxRetries attempts', async () => {
    const calls: string[] = [];
    const a = target('a');
    const b = target('b');
    await expect(
      failover({
        targets: [a, b],
        maxRetries: 1,
        cooldownMs: 1000,
        deadline: deadline(),
        attempt: async (t) => {
          calls.push(t.name);
          throw serverError();
        },
        onWaitAborted: (e) => e,
      }),
    ).rejects.toBeInstanceOf(UpstreamFailureError);
    expect(calls).toEqual(['a', 'b', 'a']);
  });

  it('stops at a final error (a 4xx) without trying anything else', async () => {
    let calls = 0;
    const error = new InvalidRequestError('bad model');
    await expect(
      failover({
        targets: [target('a'), target('b')],
        maxRetries: 3,
        cooldownMs: 1000,
        deadline: deadline(),
        attempt: async () => {
          calls++;
          throw error;
        },
        onWaitAborted: (e) => e,
      }),
    ).rejects.toBe(error);
    expect(calls).toBe(1);
  });

  it('does not start a wait longer than the deadline left: the last error is the answer', async () => {
    let calls = 0;
    const started = Date.now();
    await expect(
      failover({
        targets: [target('a')],
        maxRetries: 3,
        cooldownMs: 1000,
        deadline: deadline(50),
        attempt: async () => {
          calls++;
          throw new UpstreamRateLimitedError('slow down', '2');
        },
        onWaitAborted: (e) => e,
      }),
    ).rejects.toBeInstanceOf(UpstreamRateLimitedError);
    expect(calls).toBe(1);
    expect(Date.now() - started).toBeLessThan(1000); // a wait started would take the 2 s Retry-After
  });

  it('skips an upstream whose breaker is open while at least half are healthy', async () => {
    const a = target('a', 1);
    const b = target('b');
    const calls: string[] = [];
    const run = () =>
      failover({
        targets: [a, b],
        maxRetries: 0,
        cooldownMs: 5000,
        deadline: deadline(),
        attempt: async (t) => {
          calls.push(t.name);
          if (t === a) throw serverError();
          return t.name;
        },
        onWaitAborted: (e) => e,
      });
    await expect(run()).resolves.toBe('b'); // a fails (opens), b answers
    expect(a.breakerState).toBe('open');
    await expect(run()).resolves.toBe('b'); // a skipped without an attempt
    expect(calls).toEqual(['a', 'b', 'b']);
  });

  it('panic: a single upstream with its breaker open is still tried, and its own error is the answer', async () => {
    const only = target('only', 1);
    let calls = 0;
    const runOnly = (fail: boolean) =>
      failover({
        targets: [only],
        maxRetries: 0,
        cooldownMs: 5000,
        deadline: deadline(),
        attempt: async () => {
          calls++;
          if (fail) throw serverError();
          return 'ok';
        },
        onWaitAborted: (e) => e,
      });
    await expect(runOnly(true)).rejects.toBeInstanceOf(UpstreamFailureError);
    expect(only.breakerState).toBe('open');
    await expect(runOnly(true)).rejects.toBeInstanceOf(UpstreamFailureError); // not CircuitOpenError
    await expect(runOnly(false)).resolves.toBe('ok');
    expect(calls).toBe(3);
  });

  it('panic: with fewer than half healthy, every upstream is tried, healthiest first', async () => {
    const a = target('a', 1);
    const b = target('b', 1);
    const c = target('c');
    for (const t of [a, b]) await t.breaker.execute(() => Promise.reject(serverError())).catch(() => undefined);
    expect([a.breakerState, b.breakerState, c.breakerState]).toEqual(['open', 'open', 'closed']);
    expect(inPanic([a, b, c])).toBe(true);
    expect(inPanic([a, c])).toBe(false);
    b.recordOutcome(false); // a has the better recent record of the two open ones
    expect(healthiestFirst([b, a, c]).map((t) => t.name)).toEqual(['c', 'a', 'b']);

    const calls: string[] = [];
    await expect(
      failover({
        targets: [b, a, c],
        maxRetries: 0,
        cooldownMs: 5000,
        deadline: deadline(),
        attempt: async (t) => {
          calls.push(t.name);
          if (t !== b) throw serverError();
          return t.name;
        },
        onWaitAborted: (e) => e,
      }),
    ).resolves.toBe('b');
    expect(calls).toEqual(['c', 'a', 'b']);
  });

  it('a spent retry budget ends the request with the upstream error at once', async () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 1, windowMs: 2000 }, () => 0); // a reserve of 2 retries
    const results: boolean[] = [];
    let calls = 0;
    const run = () =>
      failover({
        targets: [target('a'), target('b')],
        maxRetries: 2,
        cooldownMs: 5000,
        deadline: deadline(),
        retryBudget: budget,
        onRetry: (taken) => results.push(taken),
        attempt: async () => {
          calls++;
          throw serverError();
        },
        onWaitAborted: (e) => e,
      });
    const started = Date.now();
    await expect(run()).rejects.toBeInstanceOf(UpstreamFailureError);
    expect(calls).toBe(3); // a, b, then one retry round would be next: the reserve of 2 is spent
    expect(results).toEqual([true, true, false]);
    await expect(run()).rejects.toBeInstanceOf(UpstreamFailureError);
    expect(calls).toBe(4); // no retry left: the first attempt only
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a retry that finds the next upstream skipped by its breaker gives its budget back', async () => {
    const a = target('a');
    const b = target('b', 1);
    const c = target('c');
    await b.breaker.execute(() => Promise.reject(serverError())).catch(() => undefined);
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 1, windowMs: 2000 }, () => 0);
    const calls: string[] = [];
    await expect(
      failover({
        targets: [a, b, c],
        maxRetries: 0,
        cooldownMs: 5000,
        deadline: deadline(),
        retryBudget: budget,
        attempt: async (t) => {
          calls.push(t.name);
          if (t === a) throw serverError();
          return t.name;
        },
        onWaitAborted: (e) => e,
      }),
    ).resolves.toBe('c');
    expect(calls).toEqual(['a', 'c']);
    expect(budget.snapshot().retries).toBe(1);
  });
});

describe(UpstreamTarget.name, () => {
  const flaky = () =>
    new UpstreamTarget(
      { name: 'u', baseUrl: 'http://u.test/v1', apiKey: 'k' },
      { failureRate: 0.9, window: 40, minCalls: 10, cooldownMs: 50, maxCooldownMs: 200, isFailure: isBreakerFailure },
    );
  const fail = (t: UpstreamTarget) => t.breaker.execute(() => Promise.reject(serverError())).catch(() => undefined);
  const succeed = (t: UpstreamTarget) => t.breaker.execute(async () => 'ok');

  it('opens on a hard-down upstream after BREAKER_MIN_CALLS calls', async () => {
    const t = flaky();
    for (let i = 0; i < 9; i++) await fail(t);
    expect(t.breakerState).toBe('closed');
    await fail(t);
    expect(t.breakerState).toBe('open');
  });

  it('stays closed on an upstream failing every other call', async () => {
    const t = flaky();
    for (let i = 0; i < 2000; i++) {
      if (i % 2) await succeed(t);
      else await fail(t);
    }
    expect(t.breakerState).toBe('closed');
  });

  it('a failed probe doubles the cool-down (capped); a good one closes the breaker', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    try {
      const t = flaky();
      for (let i = 0; i < 10; i++) await fail(t);
      const probe = () => t.breaker.execute(() => Promise.reject(serverError())).then(() => 'ran', (e: unknown) => (e instanceof UpstreamFailureError ? 'ran' : 'skipped'));
      /** Milliseconds until the breaker lets the next (failing) probe through. */
      const untilProbe = async () => {
        for (let waited = 0; waited <= 1000; waited += 10) {
          if ((await probe()) === 'ran') return waited;
          jest.advanceTimersByTime(10);
        }
        throw new Error('no probe within 1 s');
      };
      expect(await untilProbe()).toBe(50);
      expect(await untilProbe()).toBe(100);
      expect(await untilProbe()).toBe(200);
      expect(await untilProbe()).toBe(200); // capped at maxCooldownMs
      jest.advanceTimersByTime(200);
      await expect(succeed(t)).resolves.toBe('ok');
      expect(t.breakerState).toBe('closed');
    } finally {
      jest.useRealTimers();
    }
  });
});

describe(classify.name, () => {
  it.each([
    [serverError(), 'retry'],
    [new UpstreamFailureError('x', 'upstream_unreachable'), 'retry'],
    [new UpstreamRateLimitedError('x', '1'), 'retry'],
    [new UpstreamFailureError('x', 'upstream_auth_failed', 401), 'next-upstream'],
    [new InvalidRequestError('x'), 'final'],
    [new UpstreamTimeoutError(100), 'final'],
  ])('%s → %s', (error, verdict) => expect(classify(error)).toBe(verdict));

  it('counts failures and hangs against the breaker, not rate limits or client errors', () => {
    expect(isBreakerFailure(serverError())).toBe(true);
    expect(isBreakerFailure(new UpstreamTimeoutError(100))).toBe(true);
    expect(isBreakerFailure(new UpstreamRateLimitedError('x', undefined))).toBe(false);
    expect(isBreakerFailure(new InvalidRequestError('x'))).toBe(false);
  });
});

describe(retryAfterMs.name, () => {
  it('reads seconds and HTTP dates', () => {
    expect(retryAfterMs(new UpstreamRateLimitedError('x', '2'))).toBe(2000);
    expect(retryAfterMs(new UpstreamRateLimitedError('x', '0.5'))).toBe(500);
    const now = Date.parse('2026-11-26T00:00:00Z');
    expect(retryAfterMs(new UpstreamRateLimitedError('x', 'Thu, 26 Nov 2026 00:00:03 GMT'), now)).toBe(3000);
    expect(retryAfterMs(new UpstreamRateLimitedError('x', 'soon'))).toBeUndefined();
    expect(retryAfterMs(serverError())).toBeUndefined();
  });
});
