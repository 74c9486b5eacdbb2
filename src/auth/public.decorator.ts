import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'ballast:public';

/** Reachable without an API key (health, readiness, metrics). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);
