import { RetryBudget } from './retry-budget.js';

describe(RetryBudget.name, () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => (now = 0));

  it('allows the reserve (minPerSecond × window) on a quiet server, then refuses', () => {
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 1, windowMs: 10_000 }, clock);
    for (let i = 0; i < 10; i++) expect(budget.tryAcquire()).toBe(true);
    expect(budget.tryAcquire()).toBe(false);
    expect(budget.snapshot()).toEqual({ available: 0, requests: 0, retries: 10, ratio: 0.2, minPerSecond: 1, windowMs: 10_000 });
  });

  it('adds the share of recent requests: 100 requests at 20 % give 20 retries (no reserve)', () => {
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 0, windowMs: 10_000 }, clock);
    for (let i = 0; i < 100; i++) budget.recordRequest();
    let taken = 0;
    while (budget.tryAcquire()) taken++;
    expect(taken).toBe(20);
  });

  it('forgets requests and retries that left the window', () => {
    const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 0, windowMs: 1000 }, clock);
    for (let i = 0; i < 10; i++) budget.recordRequest();
    expect(budget.snapshot().available).toBe(5);
    for (let i = 0; i < 5; i++) expect(budget.tryAcquire()).toBe(true);
    expect(budget.tryAcquire()).toBe(false);
    now = 500; // half the window later: the same slots still count
    expect(budget.tryAcquire()).toBe(false);
    now = 1050; // the first slot (requests and retries both) has left
    expect(budget.snapshot()).toMatchObject({ requests: 0, retries: 0, available: 0 });
    budget.recordRequest();
    budget.recordRequest();
    expect(budget.tryAcquire()).toBe(true);
    expect(budget.tryAcquire()).toBe(false);
  });

  it('slides: requests spread over the window keep counting until each one ages out', () => {
    const budget = new RetryBudget({ ratio: 1, minPerSecond: 0, windowMs: 1000 }, clock);
    for (let t = 0; t < 1000; t += 100) {
      now = t;
      budget.recordRequest();
    }
    expect(budget.snapshot().requests).toBe(10);
    now = 1000;
    expect(budget.snapshot().requests).toBe(9);
    now = 100_000; // long idle: everything gone, nothing negative
    expect(budget.snapshot()).toMatchObject({ requests: 0, retries: 0 });
  });

  it('release gives back a retry taken in an earlier slot of the window (a wait crossed a slot boundary)', () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 1, windowMs: 2000 }, clock);
    expect(budget.tryAcquire()).toBe(true);
    expect(budget.tryAcquire()).toBe(true);
    expect(budget.tryAcquire()).toBe(false);
    now = 450; // two slots later, nothing taken since (other requests moved the window on)
    budget.recordRequest();
    budget.release();
    expect(budget.snapshot()).toMatchObject({ retries: 1, available: 1 });
    expect(budget.tryAcquire()).toBe(true);
  });

  it('release gives back a retry that was not used', () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 1, windowMs: 1000 }, clock);
    expect(budget.tryAcquire()).toBe(true);
    expect(budget.tryAcquire()).toBe(false);
    budget.release();
    expect(budget.tryAcquire()).toBe(true);
  });
});
