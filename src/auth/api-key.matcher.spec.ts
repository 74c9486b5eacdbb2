import { ApiKeyMatcher, bearerToken } from './api-key.matcher.js';

describe(ApiKeyMatcher.name, () => {
  const matcher = new ApiKeyMatcher(['alpha-key', 'beta-key']);

  it('matches each configured key, answering a short hash id, never the key', () => {
    const a = matcher.match('alpha-key');
    const b = matcher.match('beta-key');
    expect(a).toMatch(/^[0-9a-f]{12}$/);
    expect(b).toMatch(/^[0-9a-f]{12}$/);
    expect(a).not.toBe(b);
    expect(matcher.match('alpha-key')).toBe(a);
  });

  it.each(['', 'alpha', 'alpha-key ', 'ALPHA-KEY', 'alpha-keyy', 'x'.repeat(10_000)])('rejects %j', (presented) => {
    expect(matcher.match(presented)).toBeUndefined();
  });

  it('is off without keys', () => {
    expect(new ApiKeyMatcher([]).enabled).toBe(false);
    expect(matcher.enabled).toBe(true);
  });
});

describe(bearerToken.name, () => {
  it.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['Bearer   abc  ', 'abc'],
  ])('%j → %j', (header, token) => expect(bearerToken(header)).toBe(token));

  it.each([undefined, '', 'Bearer', 'Basic abc', 'Bearer a b', 'abc'])('%j → undefined', (header) => {
    expect(bearerToken(header)).toBeUndefined();
  });
});
