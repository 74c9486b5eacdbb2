import { AbortEmitter, asAbortSignal } from './abort-emitter.js';

describe(AbortEmitter.name, () => {
  it('emits abort once and stays aborted', () => {
    const emitter = new AbortEmitter();
    const heard: number[] = [];
    emitter.once('abort', () => heard.push(1));
    expect(emitter.aborted).toBe(false);
    emitter.abort();
    emitter.abort();
    expect(emitter.aborted).toBe(true);
    expect(heard).toEqual([1]);
  });

  it('makes its AbortSignal only when asked, and aborts it with itself', () => {
    const emitter = new AbortEmitter();
    const signal = emitter.signal;
    expect(emitter.signal).toBe(signal);
    expect(signal.aborted).toBe(false);
    emitter.abort();
    expect(signal.aborted).toBe(true);
  });

  it('a signal asked for after the abort is already aborted', () => {
    const emitter = new AbortEmitter();
    emitter.abort();
    expect(emitter.signal.aborted).toBe(true);
  });

  it('asAbortSignal passes a real AbortSignal through and converts an emitter', () => {
    const controller = new AbortController();
    expect(asAbortSignal(controller.signal)).toBe(controller.signal);
    const emitter = new AbortEmitter();
    expect(asAbortSignal(emitter)).toBe(emitter.signal);
  });
});
