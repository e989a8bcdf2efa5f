/** The wire protocol shared by server and SDK: types, validation, times, hashes, error codes. */

export * from './close-codes.js';
export * from './errors.js';
export * from './frames.js';
export * from './hash.js';
export * from './json.js';
export * from './limits.js';
export * from './message.js';
export * from './time.js';
export * from './validate.js';
