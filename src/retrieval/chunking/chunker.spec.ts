import { chunkText } from './chunker.js';

describe(chunkText.name, () => {
  it('keeps a short text as one chunk, collapsing whitespace', () => {
    expect(chunkText('  Hello   world.\nSecond line. ', { size: 100, overlap: 10, unit: 'characters' })).toEqual(['Hello world. Second line.']);
  });

  it('cuts between paragraphs, then sentences, never over the size', () => {
    const text = 'First sentence here. Second sentence here.\n\nThird one in a new paragraph. Fourth one.';
    const chunks = chunkText(text, { size: 45, overlap: 0, unit: 'characters' });
    expect(chunks).toEqual(['First sentence here. Second sentence here.', 'Third one in a new paragraph. Fourth one.']);
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(45);
  });

  it('repeats whole trailing sentences up to the overlap', () => {
    const chunks = chunkText('Aa aa. Bb bb. Cc cc. Dd dd.', { size: 14, overlap: 7, unit: 'characters' });
    expect(chunks).toEqual(['Aa aa. Bb bb.', 'Bb bb. Cc cc.', 'Cc cc. Dd dd.']);
  });

  it('splits an over-long sentence between words and an over-long word inside it', () => {
    const chunks = chunkText(`${'word '.repeat(10)}${'x'.repeat(25)}`, { size: 12, overlap: 0, unit: 'characters' });
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(12);
    expect(chunks.join(' ').replace(/\s+/g, '')).toBe(`${'word'.repeat(10)}${'x'.repeat(25)}`);
  });

  it('measures tokens as four characters each', () => {
    const text = 'One two three. Four five six. Seven eight nine.';
    expect(chunkText(text, { size: 5, overlap: 0, unit: 'tokens' })).toEqual(['One two three.', 'Four five six.', 'Seven eight nine.']);
  });

  it('gives nothing for whitespace only', () => {
    expect(chunkText(' \n\n ', { size: 10, overlap: 0, unit: 'characters' })).toEqual([]);
  });
});
