import { describeEngineProperties } from '../conformance/engine-properties.js';
import { describeEngineClose, describeEngineConformance } from '../conformance/engine-suite.js';
import { sqliteFactory } from './sqlite-support.js';

describeEngineConformance('sqlite', sqliteFactory());
// Properties check semantics over thousands of histories: durability is the other tests' subject.
describeEngineProperties('sqlite', sqliteFactory({ synchronous: 'normal' }));
describeEngineClose('sqlite', sqliteFactory());
