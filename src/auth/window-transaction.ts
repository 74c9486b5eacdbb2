/**
 * The rate limiter's fixed-window transaction in RESP, the Redis wire format:
 *   MULTI; SET key 0 PX windowMs NX; INCRBY key points; PTTL key; EXEC
 * Everything but the key and the points is encoded once per window length.
 */
export interface WindowTransactionParts {
  readonly windowMs: number;
  /** MULTI and SET's array header and name: the key follows. */
  readonly head: string;
  /** SET's arguments after the key, then INCRBY's header and name: the key follows. */
  readonly afterSetKey: string;
  /** The points argument when it is 1 (nearly always). */
  readonly onePoint: string;
  /** PTTL's header and name: the key follows. */
  readonly pttl: string;
  readonly exec: string;
}

/** A RESP bulk string: `$<byte length>\r\n<bytes>\r\n`. */
export function bulkString(value: string): string {
  return `$${Buffer.byteLength(value)}\r\n${value}\r\n`;
}

export function windowTransactionParts(windowMs: number): WindowTransactionParts {
  return {
    windowMs,
    head: `*1\r\n$5\r\nmulti\r\n*6\r\n$3\r\nset\r\n`,
    afterSetKey: `${bulkString('0')}${bulkString('PX')}${bulkString(String(windowMs))}${bulkString('NX')}*3\r\n$6\r\nincrby\r\n`,
    onePoint: bulkString('1'),
    pttl: `*2\r\n$4\r\npttl\r\n`,
    exec: `*1\r\n$4\r\nexec\r\n`,
  };
}

export function encodeWindowTransaction(parts: WindowTransactionParts, key: string, points: number): string {
  const k = bulkString(key);
  return `${parts.head}${k}${parts.afterSetKey}${k}${points === 1 ? parts.onePoint : bulkString(String(points))}${parts.pttl}${k}${parts.exec}`;
}
