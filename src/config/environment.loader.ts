import 'reflect-metadata';
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { plainToInstance } from 'class-transformer';
import { ValidationError, validateSync } from 'class-validator';
import { EnvironmentSchema } from './environment.schema.js';
import { parseUpstreams } from './upstreams.parser.js';

export type EnvironmentSource = Record<string, string | undefined>;

export class InvalidEnvironmentError extends Error {
  override readonly name = 'InvalidEnvironmentError';
}

const TYPE_RULES = ['isInt', 'isIn', 'isUrl', 'isString', 'isBoolean'];
/** Keys where an empty value means "empty" (switch off), not "unset" (use the default). */
const EMPTY_IS_A_VALUE = new Set(['LOCAL_MODEL_FALLBACK']);

const schemaKeys = Object.keys(new EnvironmentSchema()).concat(['OPENAI_API_KEY', 'API_KEYS', 'UPSTREAMS', 'REDIS_URL', 'BREAKER_THRESHOLD', 'DATABASE_URL']);

/**
 * Validates raw environment strings against the schema. Empty strings count as unset, so
 * `PORT=` in a .env file means "use the default" rather than port 0.
 */
export function validateEnvironment(source: EnvironmentSource): EnvironmentSchema {
  const raw: Record<string, string> = {};
  for (const key of schemaKeys) {
    const value = source[key];
    if (value !== undefined && (value.trim() !== '' || EMPTY_IS_A_VALUE.has(key))) raw[key] = value;
  }
  const env = plainToInstance(EnvironmentSchema, raw, { enableImplicitConversion: true });
  const errors = validateSync(env, { forbidUnknownValues: true });
  if (errors.length > 0) {
    const problems = errors.map((error) => describe(error, raw[error.property]));
    throw new InvalidEnvironmentError(`Invalid configuration: ${problems.join('; ')}`);
  }
  if (env.UPSTREAMS !== undefined) {
    try {
      env.upstreamList = parseUpstreams(env.UPSTREAMS, source);
    } catch (error) {
      throw new InvalidEnvironmentError(`Invalid configuration: UPSTREAMS: ${(error as Error).message}`);
    }
  }
  return env;
}

function describe(error: ValidationError, given: string | undefined): string {
  // The type rule says it all ("must be an integer number"); range rules matter once the type is right.
  const constraints = error.constraints ?? {};
  const typeRule = TYPE_RULES.find((rule) => rule in constraints);
  const rules = typeRule ? constraints[typeRule] : Object.values(constraints).join(', ');
  // Never echo a secret back, even when it is malformed.
  const shown = /KEY|REDIS_URL|DATABASE_URL/.test(error.property) ? '[redacted]' : JSON.stringify(given);
  return `${error.property}: ${rules} (got ${shown})`;
}

/** .env file (if present) < process environment < explicit overrides (tests). */
export function loadEnvironment(options: { envFile?: string; overrides?: EnvironmentSource } = {}): EnvironmentSchema {
  const fromFile = options.envFile && existsSync(options.envFile) ? parseEnv(readFileSync(options.envFile, 'utf8')) : {};
  return validateEnvironment({ ...fromFile, ...process.env, ...options.overrides });
}
