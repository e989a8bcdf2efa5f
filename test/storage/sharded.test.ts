import { openShardedEngine } from '../../src/storage/sharded/index.js';
import { describeEngineProperties } from '../conformance/engine-properties.js';
import {
  describeEngineClose,
  describeEngineConformance,
  type EngineFactory,
} from '../conformance/engine-suite.js';
import { createTempDatabase, requirePostgres } from '../support/postgres.js';

const reachable = await requirePostgres('sharded engine conformance');

/** Three shard databases per suite; the suites isolate their runs with fresh user IDs. */
const factory =
  (fsync: boolean): EngineFactory =>
  async ({ now }) => {
    const dbs = await Promise.all([0, 1, 2].map(() => createTempDatabase('gregor_t_', { fsync })));
    const open = () => openShardedEngine({ shards: dbs.map((d) => d.url), now, poolSize: 4 });
    const harness = {
      engine: await open(),
      reopen: async () => {
        await harness.engine.close();
        return open();
      },
      cleanup: async () => {
        await harness.engine.close();
        await Promise.all(dbs.map((d) => d.drop()));
      },
    };
    return harness;
  };

if (reachable) {
  describeEngineConformance('sharded', factory(true));
  describeEngineClose('sharded', factory(true));
  if (!process.env.GREGOR_SKIP_PROPERTIES) describeEngineProperties('sharded', factory(false));
}
