/** The core state machine shared by every engine, the server and the SDK. No Node-only imports. */

export * from './codec.js';
export * from './project.js';
export * from './rules.js';
export * from './state-machine.js';
export * from './user-state.js';
export * from './views.js';
