export * from './errors.js';
export * from './media.js';
export * from './messages.js';
export { validateObject, type Schema, type ValidationFailure } from './schema.js';
