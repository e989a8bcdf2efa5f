// SQLite only: every statement prepared once per connection (better-sqlite3 runs prepared
// statements synchronously). The PostgreSQL engine writes its SQL where it runs it, and names the
// hot statements so the server plans them once per connection.

import type { Database, Statement } from 'better-sqlite3';
import type { MessageRow } from '../common/messages.js';
import type { ItemRow } from '../common/replicas.js';

/** A user's row: `rev` changes with every write to the user, so caches compare it. */
export interface UserRow {
  readonly id: number;
  readonly seq: number;
  readonly rev: number;
  readonly compacted_before: number;
}

export interface ReminderRow {
  readonly rowid: number;
  readonly user_id: number;
  readonly uid: string;
  readonly item_id: string;
  readonly remind_at: number;
}

/**
 * Every statement the engine runs, prepared once per connection. Per-user rows are keyed by
 * `gregor_users.id`, never by the uid text.
 *
 * @example
 *   const st = new Statements(db);
 *   st.user.get('alice'); // { id, seq, rev, compacted_before } | undefined
 */
export class Statements {
  readonly user: Statement<[string], UserRow>;
  readonly insertUser: Statement<[string], UserRow>;
  readonly saveUser: Statement<[number, number, number, number]>;
  readonly allUids: Statement<[], { uid: string }>;
  readonly items: Statement<[number], ItemRow>;
  readonly dismissedIds: Statement<[number], { item_id: string; scope: string; ctime: number }>;
  readonly intervals: Statement<
    [number],
    { category: string; scope: string; begin: number | null; end: number; ctime: number }
  >;
  readonly item: Statement<[number, string], ItemRow>;
  readonly dismissedIdsOf: Statement<[number, string], { scope: string; ctime: number }>;
  readonly intervalsOf: Statement<
    [number, string],
    { category: string; scope: string; begin: number | null; end: number; ctime: number }
  >;
  readonly intervalCount: Statement<[number], { n: number }>;
  readonly hasInterval: Statement<[number, string, string, number | null, number], { one: number }>;
  readonly hasIntervalScope: Statement<[number, string], { one: number }>;
  readonly nextIntervalScope: Statement<[number, string], { scope: string }>;
  readonly seqOfMsgId: Statement<[number, string], { seq: number }>;
  readonly insertMessage: Statement<[number, number, string, number, string | null, string]>;
  readonly putItem: Statement<
    [number, string, string, number, string, number, number | null, string | null, string, string, Uint8Array]
  >;
  readonly dismissId: Statement<[number, string, string, number]>;
  readonly addInterval: Statement<[number, string, string, number | null, number, number]>;
  readonly addReminder: Statement<[number, string, number]>;
  readonly messagesAfter: Statement<[number, number, number], MessageRow>;
  readonly messagesSince: Statement<[number, number], MessageRow>;
  readonly dueReminders: Statement<[{ now: number; user: number; row: number; limit: number }], ReminderRow>;
  readonly leaseReminder: Statement<[string, number, number]>;
  readonly dropReminder: Statement<[number]>;
  readonly completeReminder: Statement<[string, string, number, string]>;
  readonly dropItem: Statement<[number, string]>;
  readonly dropItemReminders: Statement<[number, string]>;
  readonly dropInterval: Statement<[number, string, string, number | null, number]>;
  readonly dropMessagesBefore: Statement<[number, number]>;

  constructor(db: Database) {
    this.user = db.prepare('SELECT id, seq, rev, compacted_before FROM gregor_users WHERE uid = ?');
    this.insertUser = db.prepare(
      'INSERT INTO gregor_users (uid, seq, rev, compacted_before) VALUES (?, 0, 0, 0) RETURNING id, seq, rev, compacted_before',
    );
    this.saveUser = db.prepare('UPDATE gregor_users SET seq = ?, rev = ?, compacted_before = ? WHERE id = ?');
    this.allUids = db.prepare('SELECT uid FROM gregor_users ORDER BY id');
    this.items = db.prepare(
      `SELECT item_id, msg_id, ctime, category, created, expires, for_device, remind_at, body, digest
       FROM gregor_items WHERE user_id = ?`,
    );
    this.dismissedIds = db.prepare(
      'SELECT item_id, scope, ctime FROM gregor_dismissed_ids WHERE user_id = ?',
    );
    this.intervals = db.prepare(
      'SELECT category, scope, begin, end, ctime FROM gregor_dismissed_intervals WHERE user_id = ? ORDER BY rowid',
    );
    this.item = db.prepare(
      `SELECT item_id, msg_id, ctime, category, created, expires, for_device, remind_at, body, digest
       FROM gregor_items WHERE user_id = ? AND item_id = ?`,
    );
    this.dismissedIdsOf = db.prepare(
      'SELECT scope, ctime FROM gregor_dismissed_ids WHERE user_id = ? AND item_id = ?',
    );
    this.intervalsOf = db.prepare(
      `SELECT category, scope, begin, end, ctime FROM gregor_dismissed_intervals
       WHERE user_id = ? AND category = ? ORDER BY rowid`,
    );
    this.intervalCount = db.prepare('SELECT count(*) AS n FROM gregor_dismissed_intervals WHERE user_id = ?');
    // The key's own expression, so the lookup walks gregor_dismissed_intervals_key.
    this.hasInterval = db.prepare(
      `SELECT 1 AS one FROM gregor_dismissed_intervals
       WHERE user_id = ? AND category = ? AND scope = ?
         AND ifnull(begin, -9007199254740991) = ifnull(?, -9007199254740991) AND end = ?`,
    );
    // Both walk gregor_dismissed_intervals_scope: one step per scope, whatever its intervals.
    this.hasIntervalScope = db.prepare(
      'SELECT 1 AS one FROM gregor_dismissed_intervals WHERE user_id = ? AND scope = ? LIMIT 1',
    );
    this.nextIntervalScope = db.prepare(
      'SELECT scope FROM gregor_dismissed_intervals WHERE user_id = ? AND scope > ? ORDER BY scope LIMIT 1',
    );
    this.seqOfMsgId = db.prepare('SELECT seq FROM gregor_messages WHERE user_id = ? AND msg_id = ?');
    this.insertMessage = db.prepare(
      `INSERT INTO gregor_messages (user_id, seq, msg_id, ctime, device, content) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (user_id, msg_id) DO NOTHING`,
    );
    this.putItem = db.prepare(
      `INSERT OR REPLACE INTO gregor_items
       (user_id, item_id, msg_id, ctime, category, created, expires, for_device, remind_at, body, digest)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.dismissId = db.prepare(
      `INSERT INTO gregor_dismissed_ids (user_id, item_id, scope, ctime) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_id, item_id, scope) DO UPDATE SET ctime = min(ctime, excluded.ctime)`,
    );
    this.addInterval = db.prepare(
      `INSERT INTO gregor_dismissed_intervals (user_id, category, scope, begin, end, ctime) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (user_id, category, scope, ifnull(begin, -9007199254740991), end)
       DO UPDATE SET ctime = min(ctime, excluded.ctime)`,
    );
    this.addReminder = db.prepare(
      'INSERT OR IGNORE INTO gregor_reminders (user_id, item_id, remind_at) VALUES (?, ?, ?)',
    );
    this.messagesAfter = db.prepare(
      'SELECT seq, msg_id, ctime, device, content FROM gregor_messages WHERE user_id = ? AND seq > ? ORDER BY seq LIMIT ?',
    );
    this.messagesSince = db.prepare(
      'SELECT seq, msg_id, ctime, device, content FROM gregor_messages WHERE user_id = ? AND ctime > ? ORDER BY seq',
    );
    // Users in creation order, then reminders in insertion order: the order the memory engine scans.
    this.dueReminders = db.prepare(
      `SELECT r.rowid AS rowid, u.id AS user_id, u.uid AS uid, r.item_id AS item_id, r.remind_at AS remind_at
       FROM gregor_reminders r JOIN gregor_users u ON u.id = r.user_id
       WHERE r.remind_at <= @now AND r.lease_until <= @now AND (u.id > @user OR (u.id = @user AND r.rowid > @row))
       ORDER BY u.id, r.rowid LIMIT @limit`,
    );
    this.leaseReminder = db.prepare(
      'UPDATE gregor_reminders SET lease_owner = ?, lease_until = ? WHERE rowid = ?',
    );
    this.dropReminder = db.prepare('DELETE FROM gregor_reminders WHERE rowid = ?');
    this.completeReminder = db.prepare(
      `DELETE FROM gregor_reminders
       WHERE user_id = (SELECT id FROM gregor_users WHERE uid = ?) AND item_id = ? AND remind_at = ? AND lease_owner = ?`,
    );
    this.dropItem = db.prepare('DELETE FROM gregor_items WHERE user_id = ? AND item_id = ?');
    this.dropItemReminders = db.prepare('DELETE FROM gregor_reminders WHERE user_id = ? AND item_id = ?');
    // The key's own expression: `begin IS ?` cannot use the index, and scanned every interval of the
    // user once per interval compaction removed.
    this.dropInterval = db.prepare(
      `DELETE FROM gregor_dismissed_intervals
       WHERE user_id = ? AND category = ? AND scope = ?
         AND ifnull(begin, -9007199254740991) = ifnull(?, -9007199254740991) AND end = ?`,
    );
    this.dropMessagesBefore = db.prepare('DELETE FROM gregor_messages WHERE user_id = ? AND ctime < ?');
  }
}
