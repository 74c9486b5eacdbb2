import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule, ConfigService, registerAs } from '@nestjs/config';
import { AppConfig } from './app-config.js';
import { EnvironmentSchema } from './environment.schema.js';

/**
 * Wraps @nestjs/config so the rest of the app gets one typed `AppConfig`. The environment is
 * validated by `loadEnvironment` before Nest starts (the server options need it too), and handed in
 * here; we skip ConfigModule's own `validate` hook because it writes every key back into
 * process.env, which leaks settings between apps built in one process (the e2e suites build many).
 */
@Global()
@Module({})
export class AppConfigModule {
  static forRoot(env: EnvironmentSchema): DynamicModule {
    return {
      module: AppConfigModule,
      imports: [
        ConfigModule.forRoot({ ignoreEnvFile: true, validatePredefined: false, load: [registerAs('ballast', () => ({ ...env }))] }),
      ],
      providers: [
        {
          provide: AppConfig,
          inject: [ConfigService],
          useFactory: (config: ConfigService) => new AppConfig(config.getOrThrow<EnvironmentSchema>('ballast')),
        },
      ],
      exports: [AppConfig],
    };
  }
}
