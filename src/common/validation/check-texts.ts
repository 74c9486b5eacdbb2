import { InvalidRequestError } from '../errors/index.js';

export interface TextLimits {
  maxInputs: number;
  maxTextChars: number;
  /** The config keys behind the limits, named in the messages. */
  maxInputsKey: string;
  maxTextCharsKey: string;
}

/**
 * Checks a batch of texts against the configured limits; the error names the offending index
 * (`texts[3]`), so a client can find it in a batch of thousands. Limits come from config at run
 * time, which is why this is not a class-validator decorator.
 */
export function checkTexts(texts: readonly unknown[], limits: TextLimits, field = 'texts'): string[] {
  if (texts.length === 0) throw new InvalidRequestError(`${field} must contain at least 1 text`, { param: field });
  if (texts.length > limits.maxInputs) {
    throw new InvalidRequestError(
      `${field} has ${texts.length} items; at most ${limits.maxInputs} are allowed per call (${limits.maxInputsKey})`,
      { param: field },
    );
  }
  for (let i = 0; i < texts.length; i++) checkText(texts[i], limits, `${field}[${i}]`);
  return texts as string[];
}

/** One text: a non-empty string of at most `maxTextChars` characters; `param` names it in the error. */
export function checkText(text: unknown, limits: Pick<TextLimits, 'maxTextChars' | 'maxTextCharsKey'>, param: string): string {
  if (typeof text !== 'string') {
    throw new InvalidRequestError(`${param} must be a string (got ${text === null ? 'null' : typeof text})`, { param });
  }
  if (text.length === 0) throw new InvalidRequestError(`${param} must not be empty`, { param });
  if (text.length > limits.maxTextChars) {
    throw new InvalidRequestError(
      `${param} is ${text.length} characters long; the limit is ${limits.maxTextChars} (${limits.maxTextCharsKey})`,
      { param },
    );
  }
  return text;
}
