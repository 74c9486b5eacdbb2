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

/**
 * Every upstream that could serve the request was skipped by its breaker and none could be asked.
 * With the panic rule this is not expected any more; kept so that case still has a clear answer.
 */
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

/** Takes retries from the process-wide retry budget (RetryBudget). */
export interface RetryGate {
  /** One retry, if the budget allows it. */
  tryAcquire(): boolean;
  /** Gives back a retry that was not used after all. */
  release(): void;
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
  /** Every attempt after the first takes a retry from it; none left: the last error is the answer. */
  retryBudget?: RetryGate;
  /** A retry was taken (an attempt after the first went out) or refused by the budget. */
  onRetry?: (taken: boolean) => void;
}

const STATE_RANK = { closed: 0, 'half-open': 1, open: 2 } as const;

/**
 * The panic rule (Envoy's panic threshold, 50 %): when fewer than half of the upstreams that could
 * serve a request are healthy, breakers are not trusted to shed traffic any more (shedding the rest
 * would turn a partial failure into an outage), so every upstream is tried. A single upstream whose
 * breaker is open is always in panic: there is nowhere else to go.
 */
export function inPanic(targets: readonly UpstreamTarget[]): boolean {
  let healthy = 0;
  for (const t of targets) if (t.breakerState === 'closed') healthy++;
  return healthy * 2 < targets.length;
}

/** Closed breakers first, then half-open, then open; within each, the best recent success rate; then the given order. */
export function healthiestFirst(targets: readonly UpstreamTarget[]): UpstreamTarget[] {
  return targets
    .map((target, index) => ({ target, index }))
    .sort(
      (a, b) =>
        STATE_RANK[a.target.breakerState] - STATE_RANK[b.target.breakerState] ||
        b.target.successRate - a.target.successRate ||
        a.index - b.index,
    )
    .map((e) => e.target);
}

const SKIPPED = Symbol('skipped');

/**
 * One attempt through the upstream's breaker. An open breaker skips the upstream, unless in panic:
 * then it is tried all the same (its breaker does not see that attempt; its next probe decides).
 */
async function throughBreaker<T>(target: UpstreamTarget, run: () => Promise<T>, panic: boolean): Promise<T | typeof SKIPPED> {
  let called = false;
  try {
    return await target.breaker.execute(() => {
      called = true;
      return run();
    });
  } catch (error) {
    if (!(error instanceof BrokenCircuitError) || called) throw error;
  }
  return panic ? run() : SKIPPED;
}

/**
 * Runs one request across upstreams: each upstream is tried once, in order (a failure moves on to
 * the next at once), then up to `maxRetries` more attempts go round again, each after a wait: the
 * upstream's Retry-After (capped) or exponential backoff with jitter (cockatiel's decorrelated
 * jitter). Every attempt after the first needs a retry from the budget; when it is spent, the last
 * error is the answer. Upstreams whose breaker is open are skipped without counting, unless fewer
 * than half are healthy (the panic rule): then all are tried, healthiest first. Everything happens
 * inside the one request deadline: a wait that would outlast it is not started, and the last error
 * is the answer.
 */
export async function failover<T>(options: FailoverOptions<T>): Promise<T> {
  const panic = inPanic(options.targets);
  const state: RunState = { attempts: 0, lastError: undefined };
  const result = await rounds(options, panic ? healthiestFirst(options.targets) : options.targets, panic, state);
  if (result !== SKIPPED) return result;
  if (state.lastError !== undefined) throw state.lastError;
  // Every breaker opened between the panic check and the attempts (other requests' failures):
  // still no upstream was asked, so ask them now rather than answer "circuit open".
  const last = await rounds(options, healthiestFirst(options.targets), true, state);
  if (last !== SKIPPED) return last;
  if (state.lastError !== undefined) throw state.lastError;
  throw new CircuitOpenError(options.targets.map((t) => t.name), options.cooldownMs);
}

interface RunState {
  attempts: number;
  lastError: unknown;
}

async function rounds<T>(options: FailoverOptions<T>, targets: readonly UpstreamTarget[], panic: boolean, state: RunState): Promise<T | typeof SKIPPED> {
  const { deadline, retryBudget } = options;
  const maxAttempts = targets.length + options.maxRetries;
  // Made on the first failure: most requests succeed at the first attempt and never need them.
  let excluded: Set<UpstreamTarget> | undefined;
  let backoff: IBackoff<unknown> | undefined;

  for (let round = 0; state.attempts < maxAttempts; round++) {
    let attempted = false;
    for (const target of targets) {
      if (state.attempts >= maxAttempts) break;
      if (excluded?.has(target)) continue;
      const retry = state.attempts > 0;
      if (retry && retryBudget && !retryBudget.tryAcquire()) {
        options.onRetry?.(false);
        throw state.lastError;
      }
      if (round > 0) {
        backoff = backoff ? backoff.next(undefined) : RETRY_BACKOFF.next();
        const retryAfter = retryAfterMs(state.lastError);
        const wait = retryAfter ?? backoff.duration;
        if ((retryAfter !== undefined && retryAfter > RETRY_AFTER_CAP_MS) || wait >= deadline.remainingMs) {
          retryBudget?.release();
          throw state.lastError;
        }
        try {
          await sleep(wait, undefined, { signal: deadline.signal });
        } catch (error) {
          retryBudget?.release();
          throw options.onWaitAborted(error);
        }
      }
      try {
        const result = await throughBreaker(
          target,
          () => {
            if (retry) options.onRetry?.(true);
            return options.attempt(target);
          },
          panic,
        );
        if (result === SKIPPED) {
          if (retry) retryBudget?.release();
          (excluded ??= new Set()).add(target);
          continue;
        }
        target.recordOutcome(true);
        return result;
      } catch (error) {
        if (error instanceof Error && isBreakerFailure(error)) target.recordOutcome(false);
        state.attempts++;
        attempted = true;
        state.lastError = error;
        const verdict = classify(error);
        if (verdict === 'final' || deadline.cause) throw error;
        if (verdict === 'next-upstream') (excluded ??= new Set()).add(target);
      }
    }
    if (!attempted) break;
  }
  if (state.lastError !== undefined) throw state.lastError;
  return SKIPPED;
}
