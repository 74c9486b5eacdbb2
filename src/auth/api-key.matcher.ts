import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Checks a presented key against the configured ones in constant time: both sides are hashed to
 * 32 bytes (so lengths never differ) and compared with `timingSafeEqual`, and every configured key is
 * compared, so the time taken says nothing about which key, or how much of one, matched.
 */
export class ApiKeyMatcher {
  private readonly keys: Array<{ digest: Buffer; id: string }>;

  constructor(keys: readonly string[]) {
    this.keys = keys.map((key) => {
      const d = digest(key);
      return { digest: d, id: d.toString('hex').slice(0, 12) };
    });
  }

  get enabled(): boolean {
    return this.keys.length > 0;
  }

  /** The matching key's id (a short hash, safe to log), or undefined. */
  match(presented: string): string | undefined {
    const d = digest(presented);
    let id: string | undefined;
    for (const key of this.keys) {
      if (timingSafeEqual(d, key.digest) && id === undefined) id = key.id;
    }
    return id;
  }
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}
