export * from './api.error.js';
export * from './client-closed.error.js';
export * from './internal.error.js';
export * from './invalid-request.error.js';
export * from './model-unavailable.error.js';
export * from './not-configured.error.js';
export * from './overloaded.error.js';
export * from './error-response.js';
