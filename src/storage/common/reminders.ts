// What both SQL engines' `reminders.ts` share: whether a claimed reminder is still to be delivered.

import type { StoredItem, UserState } from '../../core/user-state.js';

/**
 * The stored item a reminder belongs to, or undefined when the reminder no longer follows it (as
 * in the memory engine): the item is gone, the winning creation has no such reminder, or it is
 * hidden everywhere or expired by then.
 *
 * @example
 *   const item = stillDue(user.replica, 'a1', remindAt); // undefined: delete the reminder
 */
export function stillDue(
  replica: UserState | undefined,
  itemId: string,
  remindAt: number,
): StoredItem | undefined {
  if (!replica) return undefined;
  const item = replica.getItem(itemId);
  if (!item?.remindAt.includes(remindAt)) return undefined;
  return replica.isVisible(item, null, null, remindAt) ? item : undefined;
}
