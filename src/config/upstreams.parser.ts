import type { UpstreamSpec } from './environment.schema.js';

type Source = Record<string, string | undefined>;

const isHttpUrl = (value: string): boolean => {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
};

/**
 * UPSTREAMS: a JSON list of `{name, baseUrl, apiKeyEnv, models?, weight?}` in priority order. Keys
 * are never in the list itself: `apiKeyEnv` names the environment variable that holds one. Throws a
 * message naming the entry and field; never echoes a key.
 */
export function parseUpstreams(json: string, source: Source): UpstreamSpec[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new Error(`not valid JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0) throw new Error('must be a non-empty JSON array of upstreams');
  const names = new Set<string>();
  return parsed.map((entry: unknown, i: number): UpstreamSpec => {
    const at = `[${i}]`;
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw new Error(`${at} must be an object`);
    const e = entry as Record<string, unknown>;
    const known = new Set(['name', 'baseUrl', 'apiKeyEnv', 'models', 'weight']);
    for (const key of Object.keys(e)) if (!known.has(key)) throw new Error(`${at}.${key} is not a known field (name, baseUrl, apiKeyEnv, models, weight)`);
    if (typeof e.name !== 'string' || e.name.trim() === '') throw new Error(`${at}.name must be a non-empty string`);
    if (names.has(e.name)) throw new Error(`${at}.name "${e.name}" is used twice`);
    names.add(e.name);
    if (typeof e.baseUrl !== 'string' || !isHttpUrl(e.baseUrl)) throw new Error(`${at}.baseUrl must be an http(s) URL`);
    let apiKey: string | undefined;
    if (e.apiKeyEnv !== undefined) {
      if (typeof e.apiKeyEnv !== 'string' || e.apiKeyEnv === '') throw new Error(`${at}.apiKeyEnv must name an environment variable`);
      apiKey = source[e.apiKeyEnv]?.trim() || undefined;
      if (apiKey === undefined) throw new Error(`${at}.apiKeyEnv names ${e.apiKeyEnv}, which is not set`);
    }
    const spec: UpstreamSpec = { name: e.name, baseUrl: e.baseUrl.replace(/\/+$/, ''), apiKey };
    if (e.models !== undefined) {
      if (!Array.isArray(e.models) || e.models.length === 0 || e.models.some((m) => typeof m !== 'string' || m === '')) {
        throw new Error(`${at}.models must be a non-empty array of model names`);
      }
      spec.models = e.models as string[];
    }
    if (e.weight !== undefined) {
      if (typeof e.weight !== 'number' || !Number.isFinite(e.weight) || e.weight <= 0) throw new Error(`${at}.weight must be a positive number`);
      spec.weight = e.weight;
    }
    return spec;
  });
}
