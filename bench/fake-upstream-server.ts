/**
 * Benchmark entry: runs the test FakeUpstream in its own process.
 *
 * Started with child_process.fork(); knobs come as JSON in FAKE_KNOBS (env) and can be changed later
 * over IPC with `{ type: 'knobs', id, knobs }` (answered `{ type: 'knobs-ok', id }`). Once listening
 * it sends `{ type: 'ready', port }`. Exits when the parent goes away.
 */
import { FakeUpstream, FakeUpstreamKnobs } from '../test/support/fake-upstream.js';

interface KnobsMessage {
  type: 'knobs';
  id: number;
  knobs: Partial<FakeUpstreamKnobs>;
}

async function main(): Promise<void> {
  const knobs: Partial<FakeUpstreamKnobs> = { recordRequests: false, ...(JSON.parse(process.env.FAKE_KNOBS ?? '{}') as object) };
  const fake = await FakeUpstream.start(knobs);

  process.on('message', (msg: unknown) => {
    const m = msg as KnobsMessage;
    if (m && m.type === 'knobs') {
      fake.reset({ recordRequests: false, ...m.knobs });
      process.send?.({ type: 'knobs-ok', id: m.id, counters: fake.counters });
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
