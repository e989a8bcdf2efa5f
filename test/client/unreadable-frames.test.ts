import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { GregorClient } from '../../src/client/client.js';
import type { ClientEvents } from '../../src/client/types.js';
import { NodeWebSocket, until } from './support.js';

/**
 * gregord never sends a frame the SDK cannot read, so a fake server in this process plays a newer
 * (or broken) one: before its sync answer it sends a frame of an unknown type, a frame that misses
 * a field and text that is not JSON; then a valid state and a reminder.
 */
let wss: WebSocketServer;
beforeAll(async () => {
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  wss.on('connection', (socket) => {
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string };
      if (frame.type === 'auth') {
        socket.send(
          JSON.stringify({ type: 'hello', uid: 'u', device: 'd', server_time: 1, heartbeat_ms: 30000 }),
        );
      } else if (frame.type === 'sync') {
        socket.send(JSON.stringify({ type: 'hint', text: 'a frame of a later version' }));
        socket.send(JSON.stringify({ type: 'synced' }));
        socket.send('not json');
        const item = {
          times: { created: 1457056447, expires: null, remind_at: [1457056500.25] },
          for_device: null,
          category: 'c',
          body: null,
        };
        socket.send(
          JSON.stringify({
            type: 'state',
            cursor: 1,
            hash: 'a'.repeat(64),
            items: { r1: { ...item, msg_id: 'm1', ctime: 1457056447.5, added_later: true } },
          }),
        );
        socket.send(JSON.stringify({ type: 'reminder', item_id: 'r1', remind_at: 1457056500.25, item }));
      }
    });
  });
});
afterAll(async () => {
  await new Promise((resolve) => wss.close(resolve));
});

describe('frames the SDK cannot read', () => {
  it('are skipped and reported as error events; the client goes on, and reads what follows', async () => {
    const client = new GregorClient({
      url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
      device: 'd',
      token: 't',
      WebSocket: NodeWebSocket,
    });
    const errors: ClientEvents['error'][] = [];
    const reminders: ClientEvents['reminder'][] = [];
    client.on('error', (e) => errors.push(e));
    client.on('reminder', (r) => reminders.push(r));
    await client.ready();
    await until('the reminder', () => reminders.length > 0);
    expect(errors.map((e) => e.code)).toEqual([
      'GREGOR_ERR_INVALID_FRAME',
      'GREGOR_ERR_INVALID_FRAME',
      'GREGOR_ERR_BAD_JSON',
    ]);
    expect(errors[0]!.message).toMatch(/type: expected one of .*; got "hint"/);
    expect(errors[1]!.message).toMatch(/cursor: expected a non-negative integer/);
    expect(client.connection).toBe('connected');
    expect(client.items().map((i) => [i.id, i.created, i.remindAt])).toEqual([
      ['r1', 1457056447000, [1457056500250]],
    ]);
    expect(reminders[0]!.remindAt).toBe(1457056500250);
    await client.close();
  });
});
