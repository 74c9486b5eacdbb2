import { DynamicModule, Module } from '@nestjs/common';
import { ChatModule } from './chat/chat.module.js';
import { EmbeddingsModule } from './embeddings/embeddings.module.js';
import { AppConfigModule } from './config/app-config.module.js';
import { EnvironmentSchema } from './config/environment.schema.js';
import { HealthModule } from './health/health.module.js';
import { LocalModelModule } from './local-model/local-model.module.js';

@Module({})
export class AppModule {
  /** `env` is validated before Nest starts (see createApp), so a bad value stops the boot first. */
  static forRoot(env: EnvironmentSchema): DynamicModule {
    return {
      module: AppModule,
      imports: [AppConfigModule.forRoot(env), HealthModule, ChatModule, EmbeddingsModule, LocalModelModule],
    };
  }
}
