import { QueueWaitEstimate } from './queue-wait.js';

describe(QueueWaitEstimate.name, () => {
  it('has no estimate until a full batch has been timed; smaller batches do not count', () => {
    const wait = new QueueWaitEstimate(32, 1);
    expect(wait.waitMs(100)).toBeUndefined();
    wait.record(1, 50);
    wait.record(31, 50);
    expect(wait.waitMs(100)).toBeUndefined();
    wait.record(32, 64);
    expect(wait.waitMs(100)).toBe(200);
    expect(wait.waitMs(0)).toBe(0);
  });

  it('follows a change in cost within a few batches (weight 0.2 on the newest)', () => {
    const wait = new QueueWaitEstimate(2, 1);
    wait.record(2, 2); // 1 ms a text
    wait.record(2, 22); // 11 ms a text: 1 + 0.2 × 10 = 3
    expect(wait.waitMs(1)).toBeCloseTo(3);
    for (let i = 0; i < 20; i++) wait.record(2, 22);
    expect(wait.waitMs(1)).toBeCloseTo(11, 0);
  });

  it('divides the work ahead among the workers', () => {
    const wait = new QueueWaitEstimate(4, 3);
    wait.record(4, 40);
    expect(wait.waitMs(30)).toBe(100);
  });
});
