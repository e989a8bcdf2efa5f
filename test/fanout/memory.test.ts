import { describe, expect, it } from 'vitest';
import { MemoryBus, MemoryFanOut } from '../../src/server/fanout/memory/index.js';
import { wire } from '../conformance/fixtures.js';
import { fanOutSuite } from './fanout-suite.js';

/** One bus per namespace: a test's fleet shares it, and no other test's nodes are on it. */
const buses = new Map<string, MemoryBus>();

fanOutSuite('memory', () => ({
  exactCount: true,
  open(nodeId, namespace, log) {
    const bus = buses.get(namespace) ?? new MemoryBus();
    buses.set(namespace, bus);
    return new MemoryFanOut({ bus, nodeId, log });
  },
}));

describe('memory fan-out alone (a single node)', () => {
  it('has no one to tell: publish resolves 0, present false, always healthy', async () => {
    const single = new MemoryFanOut();
    await single.subscribe('alice');
    const message = wire('alice', 1_000, { id: 'm1', system: 'gregor', body: { flush: true } });
    const result = { status: 'stored', seq: 1, deadOnArrival: new Map() } as const;
    expect(await single.publish({ kind: 'message', message, result })).toBe(0);
    expect(single.healthy).toBe(true);
    expect(await single.present('alice')).toBe(false);
    await single.close();
  });

  it('refuses a second node with the same ID on one bus', () => {
    const bus = new MemoryBus();
    new MemoryFanOut({ bus, nodeId: 'a' });
    expect(() => new MemoryFanOut({ bus, nodeId: 'a' })).toThrow(/already on this bus/);
  });
});
