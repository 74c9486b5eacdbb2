/** Which embedding space a text is embedded in: the model, and `dimensions` where the model takes it. */
export interface EmbeddingSpec {
  model: string;
  dimensions?: number;
}

/** One text's embedding and its share of the upstream's token count (undefined if it reported none). */
export interface Embedded {
  vector: number[];
  tokens: number | undefined;
}

export function specKey(spec: EmbeddingSpec): string {
  return spec.dimensions === undefined ? spec.model : `${spec.model}#${spec.dimensions}`;
}
