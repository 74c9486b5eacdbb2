import { Command } from 'ioredis';
import { bulkString, encodeWindowTransaction, windowTransactionParts } from './window-transaction.js';

/** What ioredis itself writes for these commands, one after the other. */
function ioredisWrites(commands: [string, string[]][]): string {
  return commands.map(([name, args]) => new Command(name, args).toWritable(undefined as never) as string).join('');
}

describe('window transaction encoding', () => {
  it.each([
    ['ballast:rl:ip:127.0.0.1', 1, 60_000],
    ['ballast:rl:key:3f9a', 7, 1_000],
    ['ballast:rl:ip:::1', 12345, 3_600_000],
  ])('%s, %i points, a %i ms window: the bytes ioredis would write for MULTI, SET NX PX, INCRBY, PTTL, EXEC', (key, points, windowMs) => {
    expect(encodeWindowTransaction(windowTransactionParts(windowMs), key, points)).toBe(
      ioredisWrites([
        ['multi', []],
        ['set', [key, '0', 'PX', String(windowMs), 'NX']],
        ['incrby', [key, String(points)]],
        ['pttl', [key]],
        ['exec', []],
      ]),
    );
  });

  it('counts a key by its UTF-8 bytes, not its characters', () => {
    expect(bulkString('ключ')).toBe('$8\r\nключ\r\n');
    const encoded = encodeWindowTransaction(windowTransactionParts(60_000), 'ballast:rl:key:é', 1);
    expect(encoded).toContain('$17\r\nballast:rl:key:é\r\n');
    expect(encoded).toBe(
      ioredisWrites([
        ['multi', []],
        ['set', ['ballast:rl:key:é', '0', 'PX', '60000', 'NX']],
        ['incrby', ['ballast:rl:key:é', '1']],
        ['pttl', ['ballast:rl:key:é']],
        ['exec', []],
      ]),
    );
  });
});
