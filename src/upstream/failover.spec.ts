import { InvalidRequestError } from '../common/errors/index.js';
import { UpstreamFailureError } from './errors/upstream-failure.error.js';
import { UpstreamRateLimitedError } from './errors/upstream-rate-limited.error.js';
import { UpstreamTimeoutError } from './errors/upstream-timeout.error.js';
import { classify, CircuitOpenError, failover, isBreakerFailure, retryAfterMs } from './failover.js';
import { UpstreamTarget } from './upstream-target.js';

const target = (name: string, threshold = 100) =>
  new UpstreamTarget({ name, baseUrl: `http://${name}.test/v1`, apiKey: 'k' }, { threshold, cooldownMs: 60_000, isFailure: isBreakerFailure });
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
    expect(Date.now() - started).toBeLessThan(40);
  });

  it('skips an upstream whose breaker is open; with all open, 503 circuit open', async () => {
    const a = target('a', 1);
    const b = target('b');
    const run = () =>
      failover({
        targets: [a, b],
        maxRetries: 0,
        cooldownMs: 5000,
        deadline: deadline(),
        attempt: async (t) => {
          if (t === a) throw serverError();
          return t.name;
        },
        onWaitAborted: (e) => e,
      });
    await expect(run()).resolves.toBe('b'); // a fails (opens), b answers
    expect(a.breakerState).toBe('open');
    await expect(run()).resolves.toBe('b'); // a skipped without an attempt

    const only = target('only', 1);
    const runOnly = () =>
      failover({ targets: [only], maxRetries: 0, cooldownMs: 5000, deadline: deadline(), attempt: async () => Promise.reject(serverError()), onWaitAborted: (e) => e });
    await expect(runOnly()).rejects.toBeInstanceOf(UpstreamFailureError);
    const open = await runOnly().catch((e: unknown) => e);
    expect(open).toBeInstanceOf(CircuitOpenError);
    expect((open as CircuitOpenError).headers['retry-after']).toBe('5');
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
