import { type Json, setOwn } from './json.js';
import { toWireTime } from './time.js';

/** One notification item in a user's state (seed 002), normalized: every time in ms, absolute. */
export interface Item {
  readonly id: string;
  readonly category: string;
  /** When the item was created; the reference for interval dismissals. Defaults to its message's ctime. */
  readonly created: number;
  /** The item leaves the state at this time, without any message. */
  readonly expires: number | null;
  /** Sorted, without duplicates. */
  readonly remindAt: readonly number[];
  /** Visible on this device only; `null` means every device, including ones added later. */
  readonly forDevice: string | null;
  readonly body: Json;
}

/** Dismisses the items of `category` whose `created` lies in [begin, end]; `begin: null` is the beginning of time. */
export interface Interval {
  readonly category: string;
  readonly begin: number | null;
  readonly end: number;
}

export interface Dismissal {
  /** Item IDs (not message IDs). */
  readonly ids: readonly string[];
  readonly intervals: readonly Interval[];
  /** Dismiss on this device only; `null` dismisses everywhere. */
  readonly forDevice: string | null;
}

export interface Metadata {
  readonly uid: string;
  /** Unique per user: a message consumed twice is a no-op. */
  readonly msgId: string;
  /** When the server accepted the message (ms). Time travel (`state at t`) is by ctime. */
  readonly ctime: number;
  /** The device that sent the message, if any (informational: scope comes from `forDevice`). */
  readonly device: string | null;
}

/** An in-band state change: create and/or dismiss, applied to the stored state. */
export interface UpdateMessage {
  readonly kind: 'update';
  readonly md: Metadata;
  readonly create: readonly Item[];
  readonly dismiss: Dismissal | null;
}

/** `{system: "gregor", body: {flush: true}}`: tells clients to refetch their state. Stored, changes nothing. */
export interface FlushMessage {
  readonly kind: 'flush';
  readonly md: Metadata;
}

/** `{system: "kbfs.favorites", body}`: relayed to the user's devices, never stored. */
export interface OutOfBandMessage {
  readonly kind: 'oob';
  readonly md: Metadata;
  readonly system: string;
  readonly body: Json;
}

export type InBandMessage = UpdateMessage | FlushMessage;
export type Message = InBandMessage | OutOfBandMessage;

export const GREGOR_SYSTEM = 'gregor';

/** The wire form of an item, exactly as in seed 002. */
export interface WireItem {
  times: { created: number; expires: number | null; remind_at: number[] };
  for_device: string | null;
  category: string;
  body: Json;
}

export interface WireInterval {
  begin: number | null;
  end: number;
  category: string;
}

/** The wire form of a message, as the server sends it: seed 002's JSON plus `id` and `ctime`. */
export interface WireMessage {
  id: string;
  ctime: number;
  system: string;
  body: Json;
}

export function itemToWire(item: Item): WireItem {
  return {
    times: {
      created: toWireTime(item.created),
      expires: item.expires === null ? null : toWireTime(item.expires),
      remind_at: item.remindAt.map(toWireTime),
    },
    for_device: item.forDevice,
    category: item.category,
    body: item.body,
  };
}

/** A state as seed 002's JSON blob: `{ <itemID>: { times, for_device, category, body } }`. */
export function stateBlob(items: Iterable<Item>): { [id: string]: WireItem } {
  const blob: { [id: string]: WireItem } = {};
  for (const item of items) setOwn(blob, item.id, itemToWire(item));
  return blob;
}

/** The body of an in-band message in seed 002's shape (times absolute, in seconds). */
export function inBandBodyToWire(m: InBandMessage): { [key: string]: Json } {
  if (m.kind === 'flush') return { flush: true };
  const body: { [key: string]: Json } = {};
  if (m.create.length > 0) {
    const create: { [id: string]: Json } = {};
    for (const item of m.create) setOwn(create, item.id, itemToWire(item) as unknown as Json);
    body.create = create;
  }
  if (m.dismiss) {
    const dismiss: { [key: string]: Json } = {};
    if (m.dismiss.ids.length > 0) dismiss.ids = [...m.dismiss.ids];
    if (m.dismiss.intervals.length > 0) {
      dismiss.intervals = m.dismiss.intervals.map((i) => ({
        begin: i.begin === null ? null : toWireTime(i.begin),
        end: toWireTime(i.end),
        category: i.category,
      }));
    }
    if (m.dismiss.forDevice !== null) dismiss.for_device = m.dismiss.forDevice;
    body.dismiss = dismiss;
  }
  return body;
}

/** A message as the server sends it to a device or returns it from the API. */
export function messageToWire(m: Message): WireMessage {
  return {
    id: m.md.msgId,
    ctime: toWireTime(m.md.ctime),
    system: m.kind === 'oob' ? m.system : GREGOR_SYSTEM,
    body: m.kind === 'oob' ? m.body : inBandBodyToWire(m),
  };
}
