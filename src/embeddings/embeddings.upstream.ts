import { Injectable, Logger } from '@nestjs/common';
import { InvalidRequestError } from '../common/errors/index.js';
import { RequestContext } from '../common/http/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { UpstreamClient } from '../upstream/upstream.client.js';
import { EmbeddingSpec } from './embedding.types.js';
import { StoredVector } from './stored-vector.js';
import { parseEmbeddingsAnswer } from './wire/embeddings-answer.parser.js';

/** Makes the parsed vectors (views of the answer's bytes) into vectors of their own. */
export type Keep = (vectors: StoredVector[]) => StoredVector[];

/** How vectors travel from the upstream: its float text (kept as written) or base64 float32. */
export type WireFormat = 'float' | 'base64';

/**
 * One upstream `/embeddings` request for a batch of texts, its answer read from its bytes and put
 * back in order. Base64 is asked for only when the caller wants base64 (its float32 bytes are the
 * answer, 4x smaller than float text); an upstream that refuses `encoding_format` is asked for floats
 * from then on (an answer in floats to a base64 request is read just as well).
 */
@Injectable()
export class EmbeddingsUpstream {
  private readonly logger = new Logger(EmbeddingsUpstream.name);
  private base64Refused: boolean;

  constructor(
    private readonly upstream: UpstreamClient,
    config: AppConfig,
  ) {
    this.base64Refused = !config.embeddings.upstreamBase64;
  }

  /** The wire format to ask for, given what the caller wants. */
  wireFor(wanted: WireFormat): WireFormat {
    return wanted === 'base64' && !this.base64Refused ? 'base64' : 'float';
  }

  /**
   * The vectors for `texts`, in order, passed through `keep` while the answer is still in memory:
   * what the parser makes are views of the answer's bytes, which are reused once it has been read.
   */
  async embed(spec: EmbeddingSpec, texts: string[], wire: WireFormat, ctx: RequestContext, keep: Keep): Promise<StoredVector[]> {
    try {
      return await this.request(spec, texts, wire, ctx, keep);
    } catch (error) {
      if (wire !== 'base64' || !refusesBase64(error)) throw error;
      this.base64Refused = true;
      this.logger.warn('The upstream refused encoding_format=base64; embeddings are asked for as floats from now on');
      return this.request(spec, texts, 'float', ctx, keep);
    }
  }

  private request(spec: EmbeddingSpec, texts: string[], wire: WireFormat, ctx: RequestContext, keep: Keep): Promise<StoredVector[]> {
    const request: Record<string, unknown> = { model: spec.model, input: texts };
    if (spec.dimensions !== undefined) request.dimensions = spec.dimensions;
    if (wire === 'base64') request.encoding_format = 'base64';
    return this.upstream.postJsonBytes('/embeddings', request, ctx, async (body) => keep(await parseEmbeddingsAnswer(body, texts)));
  }
}

/** A 4xx that names the encoding: the upstream does not take `encoding_format: base64`. */
function refusesBase64(error: unknown): boolean {
  return error instanceof InvalidRequestError && /encoding_format|base64|encoding/i.test(`${error.message} ${error.param ?? ''}`);
}
