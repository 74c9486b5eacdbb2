import { DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from './auth/auth.module.js';
import { ChatModule } from './chat/chat.module.js';
import { EmbeddingsModule } from './embeddings/embeddings.module.js';
import { AppConfigModule } from './config/app-config.module.js';
import { EnvironmentSchema } from './config/environment.schema.js';
import { HealthModule } from './health/health.module.js';
import { LifecycleModule } from './lifecycle/lifecycle.module.js';
import { LocalModelModule } from './local-model/local-model.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { OpenAiModule } from './openai/openai.module.js';
import { SharedStateModule } from './shared-state/shared-state.module.js';
import { RetrievalModule } from './retrieval/retrieval.module.js';

@Module({})
export class AppModule {
  /** `env` is validated before Nest starts (see createApp), so a bad value stops the boot first. */
  static forRoot(env: EnvironmentSchema): DynamicModule {
    return {
      module: AppModule,
      imports: [AppConfigModule.forRoot(env), MetricsModule, LifecycleModule, SharedStateModule, AuthModule.forRoot(env), HealthModule, ChatModule, EmbeddingsModule, LocalModelModule, OpenAiModule, RetrievalModule],
    };
  }
}
