import { Injectable } from '@nestjs/common';
import { RequestContext } from '../common/http/request-context.js';
import { ClassifierService } from '../local-model/classifier.service.js';
import { UpstreamClient } from '../upstream/upstream.client.js';

export interface OpenAiModel {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

const STARTED = Math.floor(Date.now() / 1000);

/** The upstream's models (when an upstream is configured) and the local classifier model that is serving. */
@Injectable()
export class OpenAiModelsService {
  constructor(
    private readonly upstream: UpstreamClient,
    private readonly classifier: ClassifierService,
  ) {}

  async list(ctx: RequestContext): Promise<{ object: 'list'; data: OpenAiModel[] }> {
    const data: OpenAiModel[] = [];
    if (this.upstream.configured) {
      const answer = await this.upstream.getJson<{ data?: unknown }>('/models', ctx);
      if (Array.isArray(answer?.data)) {
        for (const model of answer.data as OpenAiModel[]) if (typeof model?.id === 'string') data.push(model);
      }
    }
    const local = this.classifier.state;
    if (local.state === 'ready') data.push({ id: local.model, object: 'model', created: STARTED, owned_by: 'ballast-local' });
    return { object: 'list', data };
  }
}
