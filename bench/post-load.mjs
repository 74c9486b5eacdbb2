// Closed-loop POST load with autocannon, as every chat throughput measurement here runs it (run.mjs,
// experiments/idle-burst.mjs): a JSON body, one request per connection
// at a time, 10 s timeout. Kept apart from lib.mjs so the forked helpers do not load autocannon.
import autocannon from 'autocannon';
import { JSON_HEADERS } from './lib.mjs';

/**
 * `opts` are autocannon's (url, body, connections, duration, ...). Without `onDone` the result is a
 * promise of autocannon's result; with `onDone(err, result)` it is the running instance (for its
 * 'tick' events).
 */
export function postLoad(opts, onDone) {
  return autocannon({ pipelining: 1, timeout: 10, method: 'POST', headers: JSON_HEADERS, ...opts }, onDone);
}
