import { setTimeout as sleep } from 'node:timers/promises';
import { BrokenCircuitError, ExponentialBackoff, IBackoff } from 'cockatiel';
import { ApiError } from '../common/errors/index.js';
import { UpstreamFailureError } from './errors/upstream-failure.error.js';
import { UpstreamRateLimitedError } from './errors/upstream-rate-limited.error.js';
import { UpstreamTimeoutError } from './errors/upstream-timeout.error.js';
import { UpstreamTarget } from './upstream-target.js';

/** The longest upstream Retry-After we honour; a longer one fails the request with it instead. */
export const RETRY_AFTER_CAP_MS = 10_000;

/** Waits between retry rounds (made once: a backoff's state lives in what `next()` returns). */
const RETRY_BACKOFF = new ExponentialBackoff({ initialDelay: 100, maxDelay: 2_000 });

/** Failures the same upstream would repeat (a rejected key, an answer past our size limit). */
const NEXT_UPSTREAM_CODES = new Set(['upstream_auth_failed', 'upstream_response_too_large']);

/** What a failed attempt means for the rest of the request. */
export type Verdict = 'final' | 'retry' | 'next-upstream';

/**
 * Retry on what a later attempt can fix: connection errors, malformed answers, 408, 429 and 5xx.
 * A key the upstream rejects, or an answer too large to read, will not be better next time, but
 * another upstream may take the request. Client errors (4xx), the request's own deadline and the
 * client leaving are final.
 */
export function classify(error: unknown): Verdict {
  if (error instanceof UpstreamRateLimitedError) return 'retry';
  if (error instanceof UpstreamFailureError) return NEXT_UPSTREAM_CODES.has(error.code) ? 'next-upstream' : 'retry';
  return 'final';
}

/** What counts against an upstream's breaker: it failed or hung. A 429, a 4xx or a client leaving do not. */
export function isBreakerFailure(error: Error): boolean {
  return error instanceof UpstreamFailureError || error instanceof UpstreamTimeoutError;
}

/** Every upstream that could serve the request has its breaker open: 503 at once. */
export class CircuitOpenError extends ApiError {
  override readonly name = 'CircuitOpenError';
  readonly status = 503;
  readonly type = 'upstream_error' as const;
  override readonly code = 'upstream_circuit_open';
  override readonly headers: Record<string, string>;

  constructor(names: string[], cooldownMs: number) {
    super(`The upstream${names.length > 1 ? 's' : ''} ${names.join(', ')} kept failing and ${names.length > 1 ? 'are' : 'is'} paused (circuit open); retry shortly`);
    this.headers = { 'retry-after': String(Math.max(1, Math.ceil(cooldownMs / 1000))) };
  }
}

/** Milliseconds from a Retry-After header (seconds or an HTTP date), if the error carries one. */
export function retryAfterMs(error: unknown, now = Date.now()): number | undefined {
  const value = error instanceof ApiError ? error.headers['retry-after'] : undefined;
  if (value === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export interface DeadlineView {
  readonly signal: AbortSignal;
  /** Why the deadline fired, or null while it has not. */
  readonly cause: unknown;
  readonly remainingMs: number;
}

export interface FailoverOptions<T> {
  /** In the order to try them. */
  targets: readonly UpstreamTarget[];
  maxRetries: number;
  cooldownMs: number;
  deadline: DeadlineView;
  /** One attempt on one upstream; throws our mapped errors. */
  attempt: (target: UpstreamTarget) => Promise<T>;
  /** Called when the wait before a retry is cut short (deadline or client): the error to throw. */
  onWaitAborted: (error: unknown) => unknown;
}

/**
 * Runs one request across upstreams: each upstream is tried once, in order (a failure moves on to
 * the next at once), then up to `maxRetries` more attempts go round again, each after a wait: the
 * upstream's Retry-After (capped) or exponential backoff with jitter (cockatiel's decorrelated
 * jitter). Upstreams whose breaker is open are skipped without counting. Everything happens inside
 * the one request deadline: a wait that would outlast it is not started, and the last error is
 * the answer.
 */
export async function failover<T>(options: FailoverOptions<T>): Promise<T> {
  const { targets, deadline } = options;
  const maxAttempts = targets.length + options.maxRetries;
  // Made on the first failure: most requests succeed at the first attempt and never need them.
  let excluded: Set<UpstreamTarget> | undefined;
  let open: Set<UpstreamTarget> | undefined;
  let backoff: IBackoff<unknown> | undefined;
  let attempts = 0;
  let lastError: unknown;

  for (let round = 0; attempts < maxAttempts; round++) {
    let attempted = false;
    for (const target of targets) {
      if (attempts >= maxAttempts) break;
      if (excluded?.has(target)) continue;
      if (round > 0) {
        backoff = backoff ? backoff.next(undefined) : RETRY_BACKOFF.next();
        const retryAfter = retryAfterMs(lastError);
        if (retryAfter !== undefined && retryAfter > RETRY_AFTER_CAP_MS) throw lastError;
        const wait = retryAfter ?? backoff.duration;
        if (wait >= deadline.remainingMs) throw lastError;
        try {
          await sleep(wait, undefined, { signal: deadline.signal });
        } catch (error) {
          throw options.onWaitAborted(error);
        }
      }
      try {
        return await target.breaker.execute(() => options.attempt(target));
      } catch (error) {
        if (error instanceof BrokenCircuitError) {
          (open ??= new Set()).add(target);
          continue;
        }
        open?.delete(target);
        attempts++;
        attempted = true;
        lastError = error;
        const verdict = classify(error);
        if (verdict === 'final' || deadline.cause) throw error;
        if (verdict === 'next-upstream') (excluded ??= new Set()).add(target);
      }
    }
    if (!attempted) break;
  }
  if (lastError !== undefined) throw lastError;
  throw new CircuitOpenError([...(open ?? [])].map((t) => t.name), options.cooldownMs);
}
