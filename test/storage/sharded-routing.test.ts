import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openShardedEngine,
  Rendezvous,
  type ShardedEngine,
  shardName,
} from '../../src/storage/sharded/index.js';
import { freshUid, s, wire } from '../conformance/fixtures.js';
import { createTempDatabase, requirePostgres, type TempDatabase } from '../support/postgres.js';

const uids = Array.from({ length: 3000 }, (_, i) => `user-${i}`);

describe('rendezvous routing', () => {
  it('is stable: the same names route every user the same way, whatever the order of construction', () => {
    const a = new Rendezvous(['s1', 's2', 's3']);
    const b = new Rendezvous(['s1', 's2', 's3']);
    expect(uids.map((u) => a.pick(u))).toEqual(uids.map((u) => b.pick(u)));
  });

  it('spreads users evenly', () => {
    const route = new Rendezvous(['s1', 's2', 's3']);
    const counts = [0, 0, 0];
    for (const u of uids) counts[route.pick(u)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(uids.length / 3 - 150);
  });

  it('adding a shard moves only about 1/(N+1) of users, all onto the new shard', () => {
    const names = ['s1', 's2', 's3'];
    const before = new Rendezvous(names);
    const after = new Rendezvous([...names, 's4']);
    const moved = uids.filter((u) => names[before.pick(u)] !== [...names, 's4'][after.pick(u)]);
    expect(moved.length / uids.length).toBeGreaterThan(0.2);
    expect(moved.length / uids.length).toBeLessThan(0.3);
    expect(moved.every((u) => after.pick(u) === 3)).toBe(true);
  });

  it('names a URL shard without its credentials', () => {
    expect(shardName('postgres://bob:secret@db1:5432/gregor')).toBe('postgres://db1:5432/gregor');
  });
});

const reachable = await requirePostgres('sharded engine');

describe.skipIf(!reachable)('sharded engine', () => {
  let dbs: TempDatabase[];
  let engine: ShardedEngine;
  beforeAll(async () => {
    dbs = await Promise.all([0, 1].map(() => createTempDatabase()));
    engine = await openShardedEngine({ shards: dbs.map((d) => d.url), now: () => s(2000) });
  });
  afterAll(async () => {
    await engine?.close();
    await Promise.all((dbs ?? []).map((d) => d.drop()));
  });

  it("keeps each user's messages on their own shard only, and fans reminders out over all shards", async () => {
    const users = Array.from({ length: 20 }, () => freshUid('sh'));
    for (const uid of users) {
      await engine.consumeMessage(
        wire(uid, s(1000), {
          system: 'gregor',
          body: { create: { r: { category: 'c', times: { remind_at: ['+1s'] } } } },
        }),
      );
    }
    const shards = new Set(users.map((u) => engine.shardOf(u)));
    expect(shards.size).toBe(2);
    const claimed = await engine.claimDueReminders('w', s(1500), 1000, 1000);
    expect(claimed.map((r) => r.uid).sort()).toEqual([...users].sort());
    const report = await engine.compact(s(1500));
    expect(report.messages).toBeGreaterThanOrEqual(20);
  });
});
