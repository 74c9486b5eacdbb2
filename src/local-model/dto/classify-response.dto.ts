import { ApiProperty } from '@nestjs/swagger';

export class ClassificationDto {
  @ApiProperty({ enum: ['POSITIVE', 'NEGATIVE'], example: 'POSITIVE' })
  label!: string;

  @ApiProperty({ minimum: 0, maximum: 1, example: 0.9987 })
  score!: number;
}

export class ClassifyOneResponseDto extends ClassificationDto {
  @ApiProperty({ description: 'The model that answered (see /ready)', example: 'Xenova/distilbert-base-uncased-finetuned-sst-2-english' })
  model!: string;
}

export class ClassifyManyResponseDto {
  @ApiProperty({ type: [ClassificationDto], description: 'One result per text, in input order' })
  results!: ClassificationDto[];

  @ApiProperty({ example: 'lexicon-sentiment' })
  model!: string;
}
