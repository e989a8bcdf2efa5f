import { describeEngineProperties } from '../conformance/engine-properties.js';
import { describeEngineClose, describeEngineConformance } from '../conformance/engine-suite.js';
import { sqliteFactory } from './sqlite-support.js';

describeEngineConformance('sqlite', sqliteFactory());
// Properties check semantics over thousands of histories: durability is the other tests' subject.
describeEngineProperties('sqlite', sqliteFactory({ synchronous: 'normal' }));
describeEngineClose('sqlite', sqliteFactory());

// Without a replica cache every write works on the part of the replica it touches and every read
// loads the replica from the rows: the same answers must come out.
describeEngineConformance('sqlite without replica cache', sqliteFactory({ cacheUsers: 0 }));
describeEngineProperties(
  'sqlite without replica cache',
  sqliteFactory({ synchronous: 'normal', cacheUsers: 0 }),
);
