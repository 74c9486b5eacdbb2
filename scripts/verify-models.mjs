#!/usr/bin/env node
/**
 * verify-models.mjs — loads generated sentiment models through the same offline
 * transformers.js pipeline the server uses and checks a few clearly labelled sentences.
 *
 *   node scripts/verify-models.mjs                      # the two committed models
 *   node scripts/verify-models.mjs DIR NAME [NAME...]   # e.g. dist-bench/models bench-sentiment
 *   node scripts/verify-models.mjs --time [DIR NAME...] # also time batches of 32 ~12-word texts
 *
 * Exits non-zero if a clearly positive/negative sentence gets the wrong label.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { env, pipeline } from '@huggingface/transformers';

const ROOT = resolve(import.meta.dirname, '..');
const DEFAULTS = [
  ['test/fixtures/models', 'tiny-sentiment'],
  ['models', 'lexicon-sentiment'],
];

const CASES = [
  ['I love this, it is wonderful', 'POSITIVE'],
  ['What a great and fantastic day, I am so happy!', 'POSITIVE'],
  ['Excellent service, the staff were friendly and helpful.', 'POSITIVE'],
  ['terrible awful hate it', 'NEGATIVE'],
  ['This is the worst movie I have ever seen, horrible.', 'NEGATIVE'],
  ['The food was bad and the service was disappointing.', 'NEGATIVE'],
  ['The meeting is on Tuesday at the office.', null], // neutral: printed, not checked
];

// ~12 words each, mixed sentiment, for the timing loop.
const TIMING_TEXTS = Array.from({ length: 32 }, (_, i) =>
  [
    'the new update is great and the app feels fast and smooth today',
    'i hate waiting this long for support it is slow and annoying really',
    'our hotel room was clean and the staff were friendly and very helpful',
    'the movie was boring and the ending made no sense at all honestly',
  ][i % 4].replace('the', i % 3 ? 'the' : 'this'),
);

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: { time: { type: 'boolean', default: false }, iterations: { type: 'string', default: '50' } },
});
const targets = positionals.length
  ? positionals.slice(1).map((name) => [positionals[0], name])
  : DEFAULTS.map(([dir, name]) => [resolve(ROOT, dir), name]);
if (!targets.length) throw new Error('usage: verify-models.mjs [--time] [DIR NAME [NAME...]]');

env.allowRemoteModels = false;
let failures = 0;

for (const [dir, name] of targets) {
  env.localModelPath = resolve(dir) + '/';
  const t0 = performance.now();
  const clf = await pipeline('text-classification', name, {
    dtype: 'fp32',
    session_options: { intraOpNumThreads: 1, interOpNumThreads: 1 },
  });
  console.log(`\n${name} (${dir}) loaded in ${(performance.now() - t0).toFixed(0)} ms`);

  const results = await clf(CASES.map(([text]) => text));
  CASES.forEach(([text, expected], i) => {
    const { label, score } = results[i];
    const ok = expected === null || label === expected;
    if (!ok) failures++;
    const mark = expected === null ? '  ' : ok ? 'ok' : 'XX';
    console.log(`  ${mark} ${label.padEnd(8)} ${score.toFixed(4)}  ${JSON.stringify(text)}`);
  });

  if (opts.time) {
    const iterations = Number(opts.iterations);
    for (let i = 0; i < 5; i++) await clf(TIMING_TEXTS); // warm-up
    const texts = iterations * TIMING_TEXTS.length;
    // Wall time and process CPU time (the latter is robust to a busy machine).
    const measure = async (label, fn) => {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await fn();
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      console.log(
        `  timing ${label}: ${((texts / ms) * 1000).toFixed(0)} texts/s, ` +
          `${(ms / texts).toFixed(3)} ms/text wall, ${(cpuMs / texts).toFixed(3)} ms/text CPU`,
      );
    };
    await measure(`batch of ${TIMING_TEXTS.length} x ${iterations}`, async () => {
      for (let i = 0; i < iterations; i++) await clf(TIMING_TEXTS);
    });
    await measure(`one text per call x ${texts}`, async () => {
      for (let i = 0; i < texts; i++) await clf(TIMING_TEXTS[i % TIMING_TEXTS.length]);
    });
  }
  await clf.dispose();
}

if (failures) {
  console.error(`\n${failures} clearly labelled sentence(s) got the wrong label`);
  process.exit(1);
}
console.log('\nall models OK');
