export type ChunkUnit = 'characters' | 'tokens';

export interface ChunkOptions {
  /** Most units per chunk. */
  size: number;
  /** Units of the previous chunk's end repeated at the next one's start (whole sentences, up to this many). */
  overlap: number;
  unit: ChunkUnit;
}

/** Tokens are estimated at four characters each (OpenAI's rule of thumb for English); no tokenizer ships here. */
const CHARS_PER_TOKEN = 4;

interface Piece {
  text: string;
  /** First piece of a paragraph. */
  opens: boolean;
}

/**
 * Splits a text into chunks of at most `size` units, cutting between paragraphs where it can, then
 * between sentences, then between words, and only inside a word longer than a chunk. Neighbouring
 * chunks share up to `overlap` units of whole sentences, so a passage cut at a boundary is still
 * found whole. Whitespace inside a paragraph is collapsed to single spaces.
 */
export function chunkText(text: string, options: ChunkOptions): string[] {
  const limit = options.unit === 'tokens' ? options.size * CHARS_PER_TOKEN : options.size;
  const overlap = Math.min(options.unit === 'tokens' ? options.overlap * CHARS_PER_TOKEN : options.overlap, Math.floor(limit / 2));
  const pieces = split(text, limit);
  const chunks: string[] = [];
  let current: Piece[] = [];
  let fresh = 0;

  const joined = (parts: Piece[]): string => parts.map((p, i) => (i === 0 ? p.text : (p.opens ? '\n\n' : ' ') + p.text)).join('');
  const close = (): void => {
    if (fresh === 0) return;
    chunks.push(joined(current));
    // Carry whole trailing pieces into the next chunk, up to `overlap` characters.
    let carried: Piece[] = [];
    for (let i = current.length - 1; i > 0; i--) {
      const candidate = [current[i], ...carried];
      if (joined(candidate).length > overlap) break;
      carried = candidate;
    }
    current = carried;
    fresh = 0;
  };

  for (const piece of pieces) {
    const length = joined(current).length;
    const grown = joined([...current, piece]).length;
    // A new paragraph starts a new chunk once the current one is half full: paragraphs stay whole where they can.
    if (grown > limit || (piece.opens && fresh > 0 && length >= limit / 2)) close();
    // Even the carried overlap does not leave room: start clean.
    if (joined([...current, piece]).length > limit) current = [];
    current.push(piece);
    fresh++;
  }
  close();
  return chunks;
}

/** Paragraphs → sentences → (for an over-long sentence) word runs → (for an over-long word) slices. */
function split(text: string, limit: number): Piece[] {
  const pieces: Piece[] = [];
  for (const paragraph of text.split(/\n\s*\n/)) {
    const clean = paragraph.replace(/\s+/g, ' ').trim();
    if (clean.length === 0) continue;
    let opens = true;
    for (const sentence of clean.split(/(?<=[.!?…])\s+(?=\S)/)) {
      for (const part of fit(sentence, limit)) {
        pieces.push({ text: part, opens });
        opens = false;
      }
    }
  }
  return pieces;
}

function fit(sentence: string, limit: number): string[] {
  if (sentence.length <= limit) return [sentence];
  const parts: string[] = [];
  let run = '';
  for (const word of sentence.split(' ')) {
    if (word.length > limit) {
      if (run) parts.push(run);
      run = '';
      for (let i = 0; i < word.length; i += limit) parts.push(word.slice(i, i + limit));
      continue;
    }
    if (run.length + word.length + 1 > limit) {
      parts.push(run);
      run = word;
    } else run = run ? `${run} ${word}` : word;
  }
  if (run) parts.push(run);
  return parts;
}
