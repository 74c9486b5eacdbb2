import { ApiError } from '../../common/errors/index.js';

/** The vector store cannot answer (not reachable, still opening, or failed): only retrieval routes get this. */
export class StoreUnavailableError extends ApiError {
  override readonly name = 'StoreUnavailableError';
  readonly status = 503;
  readonly type = 'store_unavailable_error' as const;
  override readonly code: string;
  override readonly headers: Record<string, string> = { 'retry-after': '5' };

  constructor(message: string, code = 'store_unavailable') {
    super(message);
    this.code = code;
  }
}
