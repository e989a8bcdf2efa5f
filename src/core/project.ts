import type { InBandMessage, Item } from '../protocol/message.js';
import { GLOBAL } from './user-state.js';

/**
 * Tells where a created item may no longer be delivered (GLOBAL: anywhere): its tombstones'
 * scopes, or everywhere once expired or when this message's version of it lost to another.
 */
export type HiddenScopes = (item: Item, msgId: string) => readonly string[];

const NOTHING_HIDDEN: HiddenScopes = () => [];

/**
 * The part of a message that concerns `device` (`null`: the global view): creations for other
 * devices and dismissals scoped to other devices are left out, and so are creations already
 * hidden there (a replica that loaded a snapshot lacks the tombstones that hide them).
 * Returns `null` when nothing is left.
 */
export function projectForDevice(
  m: InBandMessage,
  device: string | null,
  hidden: HiddenScopes = NOTHING_HIDDEN,
): InBandMessage | null {
  if (m.kind === 'flush') return m;
  const create = m.create.filter((item) => deliverable(item, device, hidden(item, m.md.msgId)));
  const dismiss =
    m.dismiss && (device === null || m.dismiss.forDevice === null || m.dismiss.forDevice === device)
      ? m.dismiss
      : null;
  if (create.length === 0 && dismiss === null) return null;
  if (create.length === m.create.length && dismiss === m.dismiss) return m;
  return { ...m, create, dismiss };
}

function deliverable(item: Item, device: string | null, hiddenIn: readonly string[]): boolean {
  if (device !== null && item.forDevice !== null && item.forDevice !== device) return false;
  if (hiddenIn.includes(GLOBAL)) return false;
  const scope = device ?? item.forDevice;
  return scope === null || !hiddenIn.includes(scope);
}
