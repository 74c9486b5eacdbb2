import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { HealthService } from './health.service.js';

export class HealthDto {
  @ApiProperty({ example: 'ok' }) status!: 'ok';
  @ApiProperty({ description: 'Seconds since the process started', example: 42.1 }) uptime!: number;
}

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('health')
  @ApiOperation({ summary: 'Liveness: answers fast, checks no dependency' })
  @ApiOkResponse({ type: HealthDto })
  live(): HealthDto {
    return this.health.live();
  }
}
