import { reconnectDelayMs } from './redis.connection.js';

describe('reconnectDelayMs', () => {
  it('backs off from 100 ms, doubling, capped at 1 s', () => {
    expect([1, 2, 3, 4, 5, 6, 50].map(reconnectDelayMs)).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });
});
