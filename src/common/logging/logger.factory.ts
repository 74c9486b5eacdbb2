import { pino, DestinationStream, Logger } from 'pino';
import type { LogFormat, LogLevel } from '../../config/environment.schema.js';

/**
 * Paths pino blanks out, whatever a log call passes: credentials and message contents. The
 * per-request line carries neither (only method, route, status, timings, request id); this is the
 * net under every other log call.
 */
export const REDACTED_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
  'apiKey',
  '*.apiKey',
  'api_key',
  '*.api_key',
  'key',
  '*.key',
  'messages',
  '*.messages',
  'content',
  '*.content',
  'texts',
  '*.texts',
  'input',
  '*.input',
  'text',
  '*.text',
];

/**
 * Asynchronous stdout for log lines: pino's default is a synchronous write per line, and a slow log
 * reader would then stall the event loop (docs/benchmarks.md, "Tried and not kept": synchronous writes
 * saved ~30 µs at c=1 and nothing at c=64). Lines still leave at once (no minimum batch), and whatever
 * is pending is flushed when the process exits.
 */
function stdoutLogStream(): DestinationStream {
  // One per process: every app in it (the e2e suites start many) writes to the same fd, and each
  // stream of its own would add an exit listener that is never removed.
  if (stdoutStream) return stdoutStream;
  const stream = pino.destination({ dest: 1, sync: false });
  process.once('exit', () => stream.flushSync());
  return (stdoutStream = stream);
}
let stdoutStream: DestinationStream | undefined;

/**
 * The one pino logger of the process: Fastify logs through it (the request line, with `reqId`) and
 * Nest does too (PinoNestLogger), so every line is JSON with the same fields. `pretty` (for
 * development) renders through pino-pretty, a dev dependency.
 */
export function createRootLogger(options: { level: LogLevel; format: LogFormat; stream?: { write(line: string): void } }): Logger {
  const base = { level: options.level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  if (options.stream) return pino(base, options.stream as DestinationStream);
  if (options.format === 'pretty') {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  return pino(base, stdoutLogStream());
}
