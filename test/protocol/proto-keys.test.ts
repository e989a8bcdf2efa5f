import { describe, expect, it } from 'vitest';
import { Mirror } from '../../src/client/mirror.js';
import { UserState } from '../../src/core/user-state.js';
import { itemDigest, stateHash } from '../../src/protocol/hash.js';
import { canonicalJson, setOwn } from '../../src/protocol/json.js';
import { messageToWire, stateBlob, type UpdateMessage } from '../../src/protocol/message.js';
import { parseMessage } from '../../src/protocol/validate.js';
import { fullState } from '../../src/server/sync.js';

/** Keys that name something on Object.prototype: legal item IDs and body keys like any other. */
const KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];
const ctx = { uid: 'alice', now: 1_700_000_000_000 };

/** A message as it arrives: parsed from JSON text, so every key is an own property. */
function arriving(key: string) {
  return JSON.parse(
    `{"system":"gregor","body":{"create":{${JSON.stringify(key)}:{"category":"c","body":{${JSON.stringify(key)}:{"x":1}}}}}}`,
  ) as unknown;
}

describe('maps keyed by client data keep every legal key', () => {
  it('setOwn sets __proto__ as an own enumerable property, never the prototype', () => {
    const o: { [k: string]: number } = {};
    setOwn(o, '__proto__', 1);
    setOwn(o, 'constructor', 2);
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    expect(Object.keys(o)).toEqual(['__proto__', 'constructor']);
    expect(JSON.stringify(o)).toBe('{"__proto__":1,"constructor":2}');
  });

  for (const key of KEYS) {
    it(`an item ${key} with a body key ${key} survives parse, stateBlob, the wire message, canonicalJson and a state frame`, () => {
      const m = parseMessage(arriving(key), ctx);
      expect(m.kind).toBe('update');
      if (m.kind !== 'update') return;
      expect(m.create.map((i) => i.id)).toEqual([key]);
      const body = { [key]: { x: 1 } };
      expect(JSON.stringify(m.create[0]!.body)).toBe(JSON.stringify(body));

      const blob = JSON.parse(JSON.stringify(stateBlob(m.create))) as Record<string, unknown>;
      expect(Object.keys(blob)).toEqual([key]);

      const wireText = JSON.stringify(messageToWire(m));
      expect(wireText).toContain(`"create":{${JSON.stringify(key)}:{`);
      const again = parseMessage(JSON.parse(wireText), { ...ctx, trustCtime: true });
      expect(again).toEqual(m);
      expect(again.kind === 'update' && itemDigest(again.create[0]!)).toEqual(itemDigest(m.create[0]!));

      expect(canonicalJson(JSON.parse(`{${JSON.stringify(key)}:[1]}`))).toBe(`{${JSON.stringify(key)}:[1]}`);

      const state = new UserState();
      state.apply(m);
      const items = state.visibleItems(null, null, ctx.now);
      const frame = JSON.parse(
        JSON.stringify(
          fullState({
            uid: 'alice',
            device: null,
            items,
            seq: 1,
            hash: stateHash(items.map(itemDigest)),
            at: null,
          }),
        ),
      ) as { items: object };
      expect(Object.keys(frame.items)).toEqual([key]);
    });
  }

  it('the SDK mirror keeps an item __proto__ from a state frame and from a live message, and its hash is the server’s', () => {
    const m = parseMessage(arriving('__proto__'), ctx) as UpdateMessage;
    const server = new UserState();
    server.apply(m);
    const items = server.visibleItems('phone', null, ctx.now);
    const hash = stateHash(items.map(itemDigest));

    const fromState = new Mirror();
    fromState.uid = 'alice';
    const frame = JSON.parse(
      JSON.stringify(fullState({ uid: 'alice', device: 'phone', items, seq: 1, hash, at: null })),
    ) as {
      items: Parameters<Mirror['loadState']>[0];
    };
    fromState.loadState(frame.items, 1);
    expect(fromState.visible('phone', ctx.now).map((i) => i.id)).toEqual(['__proto__']);
    expect(fromState.hash('phone', ctx.now)).toBe(hash);

    const live = new Mirror();
    live.uid = 'alice';
    live.loadState({}, 0);
    const wire = JSON.parse(JSON.stringify({ ...messageToWire(m), seq: 1 })) as { seq: number };
    expect(live.applyStored(live.parse(wire) as UpdateMessage, 1)).toBe(true);
    expect(live.cursor).toBe(1);
    expect(live.visible('phone', ctx.now).map((i) => i.id)).toEqual(['__proto__']);
    expect(live.hash('phone', ctx.now)).toBe(hash);
  });
});
