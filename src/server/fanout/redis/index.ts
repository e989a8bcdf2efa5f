export { RESYNC_CHANNEL, RedisFanOut, type RedisFanOutOptions } from './redis-fan-out.js';
