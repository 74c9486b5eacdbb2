import { InternalError } from './internal.error.js';
import { InvalidRequestError } from './invalid-request.error.js';
import { OverloadedError, ShuttingDownError } from './overloaded.error.js';

/** Frames of a stack trace ("    at fn (file:line)"), without the first line (name: message). */
const frames = (error: Error): string[] => (error.stack ?? '').split('\n').filter((line) => line.trimStart().startsWith('at '));

describe('ApiError stack traces', () => {
  it('answers (a 503 refusal, a 400) capture none, but keep name and message in `stack`', () => {
    const refusal = new OverloadedError('The classifier is overloaded', { code: 'queue_full', retryAfterSeconds: 1 });
    expect(frames(refusal)).toEqual([]);
    expect(refusal.stack).toBe('OverloadedError: The classifier is overloaded');
    expect(frames(new ShuttingDownError())).toEqual([]);
    expect(frames(new InvalidRequestError('`text` must be a string', { param: 'text' }))).toEqual([]);
  });

  it('an InternalError, which is logged with its stack, still captures one', () => {
    expect(frames(new InternalError('The model failed on this batch')).length).toBeGreaterThan(0);
  });

  it('leaves Error.stackTraceLimit as it found it, for every other error', () => {
    const before = Error.stackTraceLimit;
    new OverloadedError('x', { code: 'queue_full', retryAfterSeconds: 1 });
    expect(Error.stackTraceLimit).toBe(before);
    expect(frames(new Error('plain')).length).toBeGreaterThan(0);
  });
});
