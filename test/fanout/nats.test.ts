import { connect, RequestError } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsFanOut } from '../../src/server/fanout/nats/index.js';
import { freePort, type ServerProcess, startNats } from '../fleet/processes.js';
import { NATS_URL, requireNats, requireNatsServer } from '../support/nats.js';
import { fanOutSuite } from './fanout-suite.js';

/** Fast reconnects, so an outage test takes seconds. */
const FAST = { reconnectWaitMs: 100, replyTimeoutMs: 5000 };

// The contract on the shared NATS (each test has its own subject prefix)…
if (await requireNats('NATS fan-out')) {
  describe('what the NATS design relies on (nats-server itself)', () => {
    it('a noEcho connection whose own subscription is the only one gets "no responders" (503)', async () => {
      const a = await connect({ servers: NATS_URL, noEcho: true });
      const b = await connect({ servers: NATS_URL, noEcho: true });
      try {
        const subject = `gregor-test.echo.${Date.now()}`;
        let heardOwn = 0;
        a.subscribe(subject, {
          callback: (_e, m) => {
            heardOwn += 1;
            m.respond();
          },
        });
        await a.flush();
        const alone = await a.request(subject, 'x', { timeout: 5000 }).catch((e: unknown) => e);
        expect(alone).toBeInstanceOf(RequestError);
        expect((alone as RequestError).isNoResponders()).toBe(true);
        b.subscribe(subject, {
          callback: (_e, m) => {
            m.respond();
          },
        });
        await b.flush();
        expect((await a.request(subject, 'y', { timeout: 5000 })).data.length).toBe(0);
        expect(heardOwn).toBe(0);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  fanOutSuite('nats', () => ({
    exactCount: false,
    open: (nodeId, namespace, log) =>
      new NatsFanOut({ servers: NATS_URL, prefix: `gregor-test.${namespace}`, nodeId, log, ...FAST }),
  }));
}

// …and the outages on a private nats-server, so stopping it disturbs no other test.
if (await requireNatsServer('NATS fan-out outages')) {
  let nats: ServerProcess | undefined;
  beforeAll(async () => {
    nats = await startNats(await freePort());
  });
  afterAll(async () => {
    await nats?.stop();
  });
  fanOutSuite('nats (a private server, stopped and started)', () => ({
    exactCount: false,
    open: (nodeId, namespace, log) =>
      new NatsFanOut({ servers: nats!.url, prefix: `gregor-test.${namespace}`, nodeId, log, ...FAST }),
    outage: { down: () => nats!.stop(), up: () => nats!.start() },
    partition: {
      target: () => ({ host: '127.0.0.1', port: Number(new URL(nats!.url).port) }),
      open: (nodeId, namespace, log, port) =>
        new NatsFanOut({
          servers: `nats://127.0.0.1:${port}`,
          prefix: `gregor-test.${namespace}`,
          nodeId,
          log,
          ...FAST,
        }),
    },
  }));
}
