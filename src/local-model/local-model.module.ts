import { Module } from '@nestjs/common';
import { ClassifierPool } from './classifier.pool.js';
import { ClassifierService } from './classifier.service.js';
import { ClassifyController } from './classify.controller.js';

@Module({
  controllers: [ClassifyController],
  providers: [ClassifierPool, ClassifierService],
  exports: [ClassifierService, ClassifierPool],
})
export class LocalModelModule {}
