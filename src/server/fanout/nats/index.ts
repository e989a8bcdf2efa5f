export { NatsFanOut, type NatsFanOutOptions } from './nats-fan-out.js';
export { NATS_PREFIX, Subjects } from './subjects.js';
