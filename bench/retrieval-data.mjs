// Clustered vectors for the retrieval benchmark, generated from their index alone (the upstream that
// embeds them and the bench that computes exact neighbours agree without sharing state). Like real
// embeddings, points gather around topics: N/100 cluster centres (unit, random), each point = its
// centre + Gaussian noise of norm ~0.5, normalised. Text: "v<i>x<n> topic<c> <four topic words>".

import { mulberry32 } from '../scripts/mulberry32.mjs';

function gaussian(rand) {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

function normalise(v) {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}

const centres = new Map();
function centre(c, dims) {
  const key = `${c}:${dims}`;
  let v = centres.get(key);
  if (!v) {
    const rand = mulberry32(0x9e3779b9 ^ (c * 7919 + dims));
    v = normalise(Float64Array.from({ length: dims }, () => gaussian(rand)));
    centres.set(key, v);
  }
  return v;
}

export const clusters = (n) => Math.max(1, Math.round(n / 100));
export const clusterOf = (kind, i, n) => (kind === 'q' ? (i * 7) % clusters(n) : i % clusters(n));

/** The vector of document `v<i>` or query `q<i>` in a corpus of `n` points. */
export function vectorFor(kind, i, n, dims) {
  const c = centre(clusterOf(kind, i, n), dims);
  const rand = mulberry32((kind === 'q' ? 0x51ed270b : 0x2545f491) ^ Math.imul(i + 1, 0x85ebca6b) ^ dims);
  const sigma = 0.5 / Math.sqrt(dims);
  return normalise(Float64Array.from(c, (x) => x + sigma * gaussian(rand)));
}

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];
const word = (c, k) => `${WORDS[(c + k) % WORDS.length]}${Math.floor(c / WORDS.length)}`;

export function textFor(kind, i, n) {
  const c = clusterOf(kind, i, n);
  return `${kind}${i}x${n} topic${c} ${word(c, 0)} ${word(c, 3)} ${word(c, 5)} ${word(c, 7)}`;
}

/** "v12x10000 ..." (one token, so it matches no other text) → { kind, i, n }: what the upstream needs to embed a text. */
export function parseText(text) {
  const m = /^([vq])(\d+)x(\d+)/.exec(text);
  return m ? { kind: m[1], i: Number(m[2]), n: Number(m[3]) } : null;
}
