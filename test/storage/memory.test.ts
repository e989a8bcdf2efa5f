import { MemoryEngine } from '../../src/storage/memory/memory-engine.js';
import { describeEngineProperties } from '../conformance/engine-properties.js';
import {
  describeEngineClose,
  describeEngineConformance,
  type EngineFactory,
} from '../conformance/engine-suite.js';

const memory: EngineFactory = async ({ now }) => {
  const engine = new MemoryEngine({ now });
  return { engine, cleanup: () => engine.close() };
};

describeEngineConformance('memory', memory);
describeEngineProperties('memory', memory);
describeEngineClose('memory', memory);
