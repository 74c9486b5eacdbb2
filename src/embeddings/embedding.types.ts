/** Which embedding space a text is embedded in: the model, and `dimensions` where the model takes it. */
export interface EmbeddingSpec {
  model: string;
  dimensions?: number;
}

export function specKey(spec: EmbeddingSpec): string {
  return spec.dimensions === undefined ? spec.model : `${spec.model}#${spec.dimensions}`;
}
