export { MemoryBus } from './memory-bus.js';
export { MemoryFanOut, type MemoryFanOutOptions } from './memory-fan-out.js';
