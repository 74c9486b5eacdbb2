import { FakeUpstream } from '../test/support/fake-upstream.js';
async function main() {
    const knobs = { recordRequests: false, ...JSON.parse(process.env.FAKE_KNOBS ?? '{}') };
    const fake = await FakeUpstream.start(knobs);
    process.on('message', (msg) => {
        const m = msg;
        if (m && m.type === 'knobs') {
            fake.reset({ recordRequests: false, ...m.knobs });
            process.send?.({ type: 'knobs-ok', id: m.id, counters: fake.counters });
        }
    });
    const stop = () => {
        void fake.close().finally(() => process.exit(0));
        setTimeout(() => process.exit(0), 1000).unref();
    };
    process.on('disconnect', stop);
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    if (process.send)
        process.send({ type: 'ready', port: fake.port });
    else
        console.log(`fake upstream listening on ${fake.url}`);
}
main().catch((err) => {
    console.error(err);
    process.exit(1);
});
