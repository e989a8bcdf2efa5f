import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { serverHash, testClient, until } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.cleanup();
});

describe('the client SDK and keys that name Object.prototype members', () => {
  it('an item __proto__ (with a body key __proto__) created on one device shows on the other, the hashes match the server’s, and later changes still arrive', async () => {
    const uid = 'sdk-proto';
    const [a, b] = [testClient(server, uid, 'a'), testClient(server, uid, 'b')];
    await Promise.all([a.ready(), b.ready()]);
    const body = JSON.parse('{"__proto__":{"x":1},"toString":"s"}') as object;
    expect((await a.create('__proto__', { category: 'c', body })).status).toBe('stored');
    await until('b sees the item __proto__', () => b.get('__proto__') !== undefined);
    expect(JSON.stringify(b.get('__proto__')?.body)).toBe('{"__proto__":{"x":1},"toString":"s"}');
    expect(b.hash()).toBe(await serverHash(server, uid, 'b'));
    // The cursor did not stick on the item: the next change arrives too.
    await a.create('constructor', { category: 'c' });
    await until('b sees the next item', () => b.get('constructor') !== undefined);
    expect(b.items().map((i) => i.id)).toEqual(['__proto__', 'constructor']);
    expect(b.hash()).toBe(await serverHash(server, uid, 'b'));
    expect(a.hash()).toBe(await serverHash(server, uid, 'a'));
    await Promise.all([a.close(), b.close()]);
  });
});
