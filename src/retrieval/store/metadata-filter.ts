import { InvalidRequestError } from '../../common/errors/index.js';

export type Scalar = string | number | boolean | null;
/** Top-level metadata keys: equal to a value, or equal to one of a list. */
export type MetadataFilter = ReadonlyArray<{ key: string; values: Scalar[] }>;

const MAX_KEYS = 16;
const MAX_IN = 1000;
const MAX_KEY_LENGTH = 256;

function isScalar(value: unknown): value is Scalar {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/** Checks a request's `filter` (`{"key": value}`, `{"key": {"$in": [v1, v2]}}`); a bad one is a 400 naming it. */
export function parseFilter(raw: unknown, param = 'filter'): MetadataFilter {
  if (raw === undefined || raw === null) return [];
  if (typeof raw !== 'object' || Array.isArray(raw)) throw bad(`${param} must be an object of metadata keys`, param);
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length > MAX_KEYS) throw bad(`${param} has more than ${MAX_KEYS} keys`, param);
  return entries.map(([key, condition]) => {
    const where = `${param}.${key}`;
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) throw bad(`${param} keys must be 1 to ${MAX_KEY_LENGTH} characters`, param);
    if (key.startsWith('$')) throw bad(`${where}: operators go inside a key ({"key": {"$in": [...]}}), not at the top`, where);
    if (isScalar(condition)) return { key, values: [condition] };
    if (typeof condition === 'object' && !Array.isArray(condition)) {
      const ops = Object.keys(condition);
      if (ops.length !== 1 || ops[0] !== '$in') {
        throw bad(`${where}: the only operator is $in (got ${ops.map((op) => JSON.stringify(op)).join(', ') || 'an empty object'})`, where);
      }
      const list = (condition as { $in: unknown }).$in;
      if (!Array.isArray(list) || list.length === 0 || list.length > MAX_IN || !list.every(isScalar)) {
        throw bad(`${where}.$in must be a list of 1 to ${MAX_IN} strings, numbers, booleans or nulls`, `${where}.$in`);
      }
      return { key, values: list };
    }
    throw bad(`${where} must be a string, number, boolean, null or {"$in": [...]}`, where);
  });
}

function bad(message: string, param: string): InvalidRequestError {
  return new InvalidRequestError(message, { param, code: 'invalid_filter' });
}

/**
 * The filter as a SQL condition on `metadata` with numbered parameters from `firstParam`: keys and
 * values are always parameters (JSON text compared as jsonb), never part of the SQL text.
 */
export function filterSql(filter: MetadataFilter, firstParam: number): { sql: string; params: string[] } {
  const clauses: string[] = [];
  const params: string[] = [];
  for (const { key, values } of filter) {
    const k = firstParam + params.length;
    params.push(key, JSON.stringify(values));
    clauses.push(`(metadata -> $${k}::text) IN (SELECT jsonb_array_elements($${k + 1}::jsonb))`);
  }
  return { sql: clauses.length === 0 ? 'TRUE' : clauses.join(' AND '), params };
}
