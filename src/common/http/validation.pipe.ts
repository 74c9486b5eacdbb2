import { ValidationError, ValidationPipe } from '@nestjs/common';
import { InvalidRequestError } from '../errors/index.js';

interface FieldProblem {
  path: string;
  message: string;
}

function flatten(errors: ValidationError[], parent = ''): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const error of errors) {
    const path = /^\d+$/.test(error.property) ? `${parent}[${error.property}]` : parent ? `${parent}.${error.property}` : error.property;
    for (const constraint of Object.values(error.constraints ?? {})) {
      // class-validator says "role must be ..."; name the full path instead ("messages[0].role must be ...").
      const message = constraint.startsWith(`${error.property} `) ? `${path}${constraint.slice(error.property.length)}` : `${path}: ${constraint}`;
      problems.push({ path, message });
    }
    problems.push(...flatten(error.children ?? [], path));
  }
  return problems;
}

/** The global pipe: strips unknown fields, converts types, and answers 400 naming each bad field. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    transform: true,
    forbidUnknownValues: true,
    // One message per field: the first rule it breaks ("messages is required", not three complaints).
    stopAtFirstError: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors: ValidationError[]) => {
      const problems = flatten(errors);
      const first = problems[0];
      return new InvalidRequestError(problems.map((p) => p.message).join('; ') || 'Invalid request body', {
        param: first?.path ?? null,
      });
    },
  });
}
