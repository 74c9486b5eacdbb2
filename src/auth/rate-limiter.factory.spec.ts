import rateLimiterFlexible from 'rate-limiter-flexible';
import { createRateLimiter, perInstanceShare } from './rate-limiter.factory.js';

const { RateLimiterMemory } = rateLimiterFlexible;

describe(perInstanceShare.name, () => {
  it.each([
    [60, 1, 60],
    [60, 2, 30],
    [61, 2, 30], // rounded down: the instances together never allow more than the limit
    [10, 3, 3],
    [2, 5, 1], // at least one request each
  ])('RATE_LIMIT_RPM=%i over %i instances → %i each', (rpm, instances, share) => {
    expect(perInstanceShare(rpm, instances)).toBe(share);
  });
});

describe(createRateLimiter.name, () => {
  it('without Redis: an in-memory store with the limit, refusing the request after it', async () => {
    const limiter = createRateLimiter(2, 4, undefined);
    expect(limiter).toBeInstanceOf(RateLimiterMemory);
    expect(limiter.points).toBe(2);
    await expect(limiter.consume('k')).resolves.toMatchObject({ remainingPoints: 1 });
    await expect(limiter.consume('k')).resolves.toMatchObject({ remainingPoints: 0 });
    await expect(limiter.consume('k')).rejects.toMatchObject({ remainingPoints: 0 });
  });
});
