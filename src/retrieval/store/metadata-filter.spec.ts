import { filterSql, parseFilter } from './metadata-filter.js';

describe(parseFilter.name, () => {
  it('reads equals and $in on top-level keys', () => {
    expect(parseFilter({ lang: 'en', tier: { $in: [1, 2] }, draft: false, owner: null })).toEqual([
      { key: 'lang', values: ['en'] },
      { key: 'tier', values: [1, 2] },
      { key: 'draft', values: [false] },
      { key: 'owner', values: [null] },
    ]);
    expect(parseFilter(undefined)).toEqual([]);
  });

  it.each([
    [[1], 'filter'],
    ['x', 'filter'],
    [{ a: { $nin: [1] } }, 'filter.a'],
    [{ a: { $in: 'x' } }, 'filter.a.$in'],
    [{ a: { $in: [{ b: 1 }] } }, 'filter.a.$in'],
    [{ a: [1, 2] }, 'filter.a'],
    [{ $and: [] }, 'filter.$and'],
  ])('refuses %j with 400 naming %s', (raw, param) => {
    expect(() => parseFilter(raw)).toThrow(expect.objectContaining({ status: 400, param, code: 'invalid_filter' }));
  });
});

describe(filterSql.name, () => {
  it('puts keys and values in parameters only, never in the SQL text', () => {
    const evil = "x'); DROP TABLE t;--";
    const { sql, params } = filterSql(parseFilter({ [evil]: evil }), 4);
    expect(sql).toBe('(metadata -> $4::text) IN (SELECT jsonb_array_elements($5::jsonb))');
    expect(sql).not.toContain('DROP');
    expect(params).toEqual([evil, JSON.stringify([evil])]);
  });

  it('is TRUE without a filter', () => {
    expect(filterSql([], 1)).toEqual({ sql: 'TRUE', params: [] });
  });
});
