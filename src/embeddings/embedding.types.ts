import type { RequestContext } from '../common/http/request-context.js';

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

/**
 * Sends one batch of texts to the upstream; answers one `Embedded` per text, in order. The context
 * belongs to the batch, not to any one caller: it closes when every caller of the batch has gone.
 */
export type EmbedBatch = (spec: EmbeddingSpec, texts: string[], ctx: RequestContext) => Promise<Embedded[]>;

export function specKey(spec: EmbeddingSpec): string {
  return spec.dimensions === undefined ? spec.model : `${spec.model}#${spec.dimensions}`;
}
