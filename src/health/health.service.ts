import { Injectable } from '@nestjs/common';
import type { HealthDto } from './health.controller.js';

@Injectable()
export class HealthService {
  live(): HealthDto {
    return { status: 'ok', uptime: Math.round(process.uptime() * 10) / 10 };
  }
}
