/**
 * Benchmark entry: runs the test FakeUpstream in its own process.
 *
 * Started with child_process.fork(); knobs come as JSON in FAKE_KNOBS (env) and can be changed later
 * over IPC with `{ type: 'knobs', id, knobs }` (resets the counters too; answered
 * `{ type: 'knobs-ok', id, counters }` with the counters as they were just before the reset).
 * `{ type: 'counters', id }` answers `{ type: 'counters-ok', id, counters }` and changes nothing.
 * Once listening it sends `{ type: 'ready', port }`. Exits when the parent goes away.
 */
import { FakeUpstream, FakeUpstreamKnobs } from '../test/support/fake-upstream.js';

interface KnobsMessage {
  type: 'knobs';
  id: number;
  knobs: Partial<FakeUpstreamKnobs>;
}

interface CountersMessage {
  type: 'counters';
  id: number;
}

async function main(): Promise<void> {
  const knobs: Partial<FakeUpstreamKnobs> = { recordRequests: false, ...(JSON.parse(process.env.FAKE_KNOBS ?? '{}') as object) };
  const fake = await FakeUpstream.start(knobs);

  process.on('message', (msg: unknown) => {
    const m = msg as KnobsMessage | CountersMessage;
    if (m && m.type === 'knobs') {
      const before = { ...fake.counters };
      fake.reset({ recordRequests: false, ...m.knobs });
      process.send?.({ type: 'knobs-ok', id: m.id, counters: before });
    } else if (m && m.type === 'counters') {
      process.send?.({ type: 'counters-ok', id: m.id, counters: { ...fake.counters } });
    }
  });
  const stop = (): void => {
    void fake.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('disconnect', stop);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  if (process.send) process.send({ type: 'ready', port: fake.port });
  else console.log(`fake upstream listening on ${fake.url}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
