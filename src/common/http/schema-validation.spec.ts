import { schemaValidationError } from './schema-validation.js';

describe('schemaValidationError', () => {
  it('names nested fields the way the validation pipe did', () => {
    const error = schemaValidationError([
      { keyword: 'enum', instancePath: '/messages/0/role', params: { allowedValues: ['system', 'user', 'assistant'] } },
    ]);
    expect(error.param).toBe('messages[0].role');
    expect(error.message).toBe('messages[0].role must be one of the following values: system, user, assistant');
    expect(error.toBody().error).toEqual({ message: error.message, type: 'invalid_request_error', param: 'messages[0].role', code: null });
  });

  it.each([
    [{ keyword: 'required', instancePath: '', params: { missingProperty: 'messages' } }, 'messages', 'messages is required'],
    [{ keyword: 'required', instancePath: '/messages/2', params: { missingProperty: 'content' } }, 'messages[2].content', 'messages[2].content is required'],
    [{ keyword: 'type', instancePath: '/messages', params: { type: 'array' } }, 'messages', 'messages must be an array'],
    [{ keyword: 'minItems', instancePath: '/messages', params: { limit: 1 } }, 'messages', 'messages should not be empty'],
    [{ keyword: 'type', instancePath: '/max_tokens', params: { type: 'integer,null' } }, 'max_tokens', 'max_tokens must be an integer number'],
    [{ keyword: 'maximum', instancePath: '/temperature', params: { limit: 2 } }, 'temperature', 'temperature must not be greater than 2'],
    // An optional field's schema allows null too; the message offers only the values.
    [{ keyword: 'enum', instancePath: '/mode', params: { allowedValues: ['vector', 'text', 'hybrid', null] } }, 'mode', 'mode must be one of the following values: vector, text, hybrid'],
  ])('%j → %s', (problem, param, message) => {
    const error = schemaValidationError([problem]);
    expect(error.param).toBe(param);
    expect(error.message).toBe(message);
  });

  it('a body that is not an object names no field', () => {
    const error = schemaValidationError([{ keyword: 'type', instancePath: '', params: { type: 'object' } }]);
    expect(error.param).toBeNull();
    expect(error.message).toBe('Request body must be a JSON object');
  });
});
