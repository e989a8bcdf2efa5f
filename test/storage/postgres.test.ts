import { openPostgresEngine } from '../../src/storage/postgres/index.js';
import { describeEngineProperties } from '../conformance/engine-properties.js';
import {
  describeEngineClose,
  describeEngineConformance,
  type EngineFactory,
} from '../conformance/engine-suite.js';
import { createTempDatabase, requirePostgres } from '../support/postgres.js';

const reachable = await requirePostgres('postgres engine conformance');

/** One database per suite: the suites isolate their runs with fresh user IDs. */
const factory =
  (fsync: boolean): EngineFactory =>
  async ({ now }) => {
    const db = await createTempDatabase('gregor_t_', { fsync });
    const open = () => openPostgresEngine({ connectionString: db.url, now });
    const harness = {
      engine: await open(),
      reopen: async () => {
        await harness.engine.close();
        return open();
      },
      cleanup: async () => {
        await harness.engine.close();
        await db.drop();
      },
    };
    return harness;
  };
const postgres = factory(true);

if (reachable) {
  describeEngineConformance('postgres', postgres);
  describeEngineClose('postgres', postgres);
  if (!process.env.GREGOR_SKIP_PROPERTIES) describeEngineProperties('postgres', factory(false));
}
