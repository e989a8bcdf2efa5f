import type { ConsumeResult, Reminder } from '../../core/state-machine.js';
import { GLOBAL } from '../../core/user-state.js';
import { itemDigest } from '../../protocol/hash.js';
import {
  itemToWire,
  type Message,
  messageToWire,
  type WireItem,
  type WireMessage,
} from '../../protocol/message.js';
import { fromWireTime, toWireTime } from '../../protocol/time.js';
import { id, parseMessage } from '../../protocol/validate.js';
import type { FanOutLog, Publication } from './fan-out.js';

/**
 * The inter-node wire format, version 1. Nodes of different releases share a fleet during a
 * rolling deploy, so a frame carries its version and only protocol-level data (the wire message
 * a device would receive, plus what it drops), never internal objects: a node refuses a version
 * or kind it does not know instead of misreading it.
 */
export const WIRE_VERSION = 1;

type Header = { v: typeof WIRE_VERSION; node: string };
/** A consumed message: the device wire form plus its user, sender device and consume result. */
type MessageFrame = Header & {
  kind: 'message';
  uid: string;
  device: string | null;
  message: WireMessage;
  status: ConsumeResult['status'];
  seq: number | null;
  /** deadOnArrival as [item ID, scopes]; the scope '' is every device. */
  dead: [string, string[]][];
};
/** A due reminder: the item in its wire form, with the message that created it (times in seconds). */
type ReminderFrame = Header & {
  kind: 'reminder';
  uid: string;
  remind_at: number;
  msg_id: string;
  ctime: number;
  item: WireItem & { id: string };
};
/** A node could not publish for these users: their devices elsewhere must resync. */
type ResyncFrame = Header & { kind: 'resync'; uids: string[] };
/** "Does any other node hold this user?" (NATS): nodes answer it and never deliver it. */
type PresenceFrame = Header & { kind: 'presence'; uid: string };

/** A decoded frame, as the backends handle it. */
export type Frame =
  | { readonly node: string; readonly kind: 'publication'; readonly publication: Publication }
  | { readonly node: string; readonly kind: 'resync'; readonly uids: readonly string[] }
  | { readonly node: string; readonly kind: 'presence'; readonly uid: string };

const STATUSES: readonly string[] = ['stored', 'duplicate', 'relayed'] satisfies ConsumeResult['status'][];

/**
 * Encodes a publication of node `node` as JSON text.
 *
 * @example
 *   redis.publish(channel, encodePublication('node-a', { kind: 'message', message, result }));
 */
export function encodePublication(node: string, p: Publication): string {
  const frame: MessageFrame | ReminderFrame =
    p.kind === 'message'
      ? {
          v: WIRE_VERSION,
          node,
          kind: 'message',
          uid: p.message.md.uid,
          device: p.message.md.device,
          message: messageToWire(p.message),
          status: p.result.status,
          seq: p.result.seq,
          dead: [...p.result.deadOnArrival].map(([item, scopes]) => [item, [...scopes]]),
        }
      : {
          v: WIRE_VERSION,
          node,
          kind: 'reminder',
          uid: p.reminder.uid,
          remind_at: toWireTime(p.reminder.remindAt),
          msg_id: p.reminder.item.msgId,
          ctime: toWireTime(p.reminder.item.ctime),
          item: { id: p.reminder.item.id, ...itemToWire(p.reminder.item) },
        };
  return JSON.stringify(frame);
}

/** @example redis.publish(resyncChannel, encodeResync('node-a', ['alice', 'bob'])); */
export function encodeResync(node: string, uids: readonly string[]): string {
  const frame: ResyncFrame = { v: WIRE_VERSION, node, kind: 'resync', uids: [...uids] };
  return JSON.stringify(frame);
}

/** @example nc.request(subject, encodePresence('node-a', 'alice')); */
export function encodePresence(node: string, uid: string): string {
  const frame: PresenceFrame = { v: WIRE_VERSION, node, kind: 'presence', uid };
  return JSON.stringify(frame);
}

/**
 * Decodes and validates a frame. Never throws: an unreadable frame, an unknown version or kind,
 * or invalid content is logged (once per frame) and gives null, so one bad publisher cannot break
 * a subscriber.
 *
 * @example
 *   const frame = decodeFrame(payload, log);
 *   if (frame?.kind === 'publication' && frame.node !== nodeId) deliver(frame.publication);
 */
export function decodeFrame(text: string, log: FanOutLog): Frame | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    log.warn({ bytes: text.length }, 'fan-out: unreadable frame ignored (not JSON)');
    return null;
  }
  const f = value as Record<string, unknown> | null;
  if (typeof f !== 'object' || f === null || Array.isArray(f)) {
    log.warn({}, 'fan-out: frame ignored (not an object)');
    return null;
  }
  if (f.v !== WIRE_VERSION) {
    log.warn(
      { v: f.v, node: f.node },
      `fan-out: frame of wire version ${JSON.stringify(f.v)} ignored: this node speaks version ${WIRE_VERSION} (a fleet mid-upgrade?)`,
    );
    return null;
  }
  try {
    return decodeV1(f);
  } catch (e) {
    log.warn({ err: e, node: f.node, kind: f.kind }, 'fan-out: invalid frame ignored');
    return null;
  }
}

function decodeV1(f: Record<string, unknown>): Frame | null {
  if (typeof f.node !== 'string' || f.node === '') throw new Error('node: expected a non-empty string');
  const node = f.node;
  switch (f.kind) {
    case 'message':
      return { node, kind: 'publication', publication: decodeMessage(f) };
    case 'reminder':
      return { node, kind: 'publication', publication: decodeReminder(f) };
    case 'resync':
      return { node, kind: 'resync', uids: list(f.uids, 'uids').map((u, i) => id(u, `uids[${i}]`)) };
    case 'presence':
      return { node, kind: 'presence', uid: id(f.uid, 'uid') };
    default:
      throw new Error(`kind: ${JSON.stringify(f.kind)} is not a kind of wire version ${WIRE_VERSION}`);
  }
}

function decodeMessage(f: Record<string, unknown>): Publication {
  const uid = id(f.uid, 'uid');
  const device = f.device === null ? null : id(f.device, 'device');
  const wire = f.message as Record<string, unknown> | null;
  // The sender always writes both: a missing one must not be filled in (now, a derived ID).
  if (typeof wire?.id !== 'string' || typeof wire.ctime !== 'number') {
    throw new Error('message: expected its id and ctime');
  }
  const message: Message = parseMessage(wire, { uid, device, now: 0, trustCtime: true });
  if (typeof f.status !== 'string' || !STATUSES.includes(f.status)) throw new Error('status: unknown');
  if (f.seq !== null && !(Number.isSafeInteger(f.seq) && (f.seq as number) >= 0)) {
    throw new Error('seq: expected null or a whole number');
  }
  const dead = list(f.dead, 'dead').map((entry, i): [string, readonly string[]] => {
    const [item, scopes] = list(entry, `dead[${i}]`);
    return [id(item, `dead[${i}][0]`), list(scopes, `dead[${i}][1]`).map((s) => scope(s, `dead[${i}][1]`))];
  });
  const result: ConsumeResult = {
    status: f.status as ConsumeResult['status'],
    seq: f.seq as number | null,
    deadOnArrival: new Map(dead),
  };
  return { kind: 'message', message, result };
}

/**
 * The item is validated as the creation it came from (message `msg_id` at `ctime`), by the same
 * parser as every message; its digest is computed again rather than trusted from the wire.
 */
function decodeReminder(f: Record<string, unknown>): Publication {
  const uid = id(f.uid, 'uid');
  const msgId = id(f.msg_id, 'msg_id');
  if (typeof f.ctime !== 'number' || typeof f.remind_at !== 'number') {
    throw new Error('ctime and remind_at: expected times in seconds');
  }
  const { id: itemId, ...wireItem } = (f.item ?? {}) as Record<string, unknown>;
  const key = id(itemId, 'item.id');
  const creation = parseMessage(
    { id: msgId, ctime: f.ctime, system: 'gregor', body: { create: { [key]: wireItem } } },
    { uid, now: 0, trustCtime: true },
  );
  const item = creation.kind === 'update' ? creation.create[0] : undefined;
  if (!item) throw new Error('item: not an item');
  const reminder: Reminder = {
    uid,
    remindAt: fromWireTime(f.remind_at),
    item: { ...item, msgId, ctime: creation.md.ctime, digest: itemDigest(item) },
  };
  return { kind: 'reminder', reminder };
}

function list(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${path}: expected an array`);
  return value;
}

function scope(value: unknown, path: string): string {
  return value === GLOBAL ? GLOBAL : id(value, path);
}
