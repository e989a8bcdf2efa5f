/** The wire protocol shared by server and SDK: types, validation, times, hashes, error codes. */
export * from './errors.js';
export * from './hash.js';
export * from './json.js';
export * from './limits.js';
export * from './message.js';
export * from './time.js';
export * from './validate.js';
