// Texts for the classify scenario (bench/classify-scenario.mjs) and its raw baseline
// (bench/classify-raw.mjs): both make their texts here, so both pay exactly the same model cost.
//
// Every text is unique in the process (ballast's MicroBatcher shares identical texts that are queued
// or in flight, which would flatter it) and tokenizes to the same length: a tag word that is not in
// the model's vocabulary ("zq<base36 counter>", one [UNK]) + one of four 13-word sentences, 14 words,
// 16 tokens with [CLS]/[SEP], no padding inside a batch. Each sentence has an unambiguous lexicon
// label, so every answer can be checked against the label it must have.

const SENTENCES = [
  ['the new update is great and the app feels fast and smooth today', 'POSITIVE'],
  ['i hate waiting this long for support it is slow and annoying really', 'NEGATIVE'],
  ['our hotel room was clean and the staff were friendly and very helpful', 'POSITIVE'],
  ['the movie was boring and the ending made no sense at all honestly', 'NEGATIVE'],
];

export const BENCH_MODEL = 'bench-sentiment';

let seq = 0;

/**
 * Texts made from now on start at counter `n` (a forked load generator continues its parent's
 * sequence, so its texts are new to the server too).
 */
export function continueTextsAt(n) {
  seq = n;
}

/** The counter of the next text. */
export const nextTextSeq = () => seq;

/** `n` texts never made before in this process, with the labels they must get. */
export function makeTexts(n) {
  const texts = new Array(n);
  const labels = new Array(n);
  for (let i = 0; i < n; i++) {
    const k = seq++;
    const [sentence, label] = SENTENCES[k % SENTENCES.length];
    texts[i] = `zq${k.toString(36)} ${sentence}`;
    labels[i] = label;
  }
  return { texts, labels };
}

/** Problem with one classification (`{label, score}`) against the expected label, or null. */
export function checkOne(result, expected) {
  if (!result || typeof result !== 'object') return 'no result object';
  if (result.label !== expected) return `label ${JSON.stringify(result.label)}, expected ${expected}`;
  if (!(typeof result.score === 'number' && result.score > 0 && result.score <= 1)) return `score ${JSON.stringify(result.score)}`;
  return null;
}

/** A /classify body of `perRequest` new texts ({text} for one, {texts} otherwise) and their labels. */
export function classifyBody(perRequest) {
  const { texts, labels } = makeTexts(perRequest);
  const body = perRequest === 1 ? JSON.stringify({ text: texts[0] }) : JSON.stringify({ texts });
  return { body, labels };
}

/** Problem with a 200 body of /classify, or null. */
export function checkAnswer(text, labels, perRequest) {
  let j;
  try {
    j = JSON.parse(text);
  } catch (err) {
    return `unparsable body: ${err.message}`;
  }
  if (j.model !== BENCH_MODEL) return `model ${JSON.stringify(j.model)}, expected ${BENCH_MODEL}`;
  if (perRequest === 1) return checkOne(j, labels[0]);
  if (!Array.isArray(j.results) || j.results.length !== labels.length) return `${Array.isArray(j.results) ? j.results.length : 'no'} results for ${labels.length} texts`;
  for (let i = 0; i < labels.length; i++) {
    const p = checkOne(j.results[i], labels[i]);
    if (p) return `results[${i}]: ${p}`;
  }
  return null;
}
