import type { Database, Statement } from 'better-sqlite3';

/** A user's row: `rev` changes with every write to the user, so caches compare it. */
export interface UserRow {
  readonly id: number;
  readonly seq: number;
  readonly rev: number;
  readonly compacted_before: number;
}

export interface ItemRow {
  readonly item_id: string;
  readonly msg_id: string;
  readonly ctime: number;
  readonly category: string;
  readonly created: number;
  readonly expires: number | null;
  readonly for_device: string | null;
  readonly remind_at: string;
  readonly body: string;
  readonly digest: Uint8Array;
}

export interface MessageRow {
  readonly seq: number;
  readonly msg_id: string;
  readonly ctime: number;
  readonly device: string | null;
  readonly content: string;
}

export interface ReminderRow {
  readonly rowid: number;
  readonly user_id: number;
  readonly uid: string;
  readonly item_id: string;
  readonly remind_at: number;
}

/** Every statement the engine runs, prepared once per connection. */
export class Statements {
  readonly user: Statement<[string], UserRow>;
  readonly insertUser: Statement<[string], UserRow>;
  readonly saveUser: Statement<[number, number, number, number]>;
  readonly allUids: Statement<[], { uid: string }>;
  readonly items: Statement<[string], ItemRow>;
  readonly dismissedIds: Statement<[string], { item_id: string; scope: string; ctime: number }>;
  readonly intervals: Statement<
    [string],
    { category: string; scope: string; begin: number | null; end: number; ctime: number }
  >;
  readonly seqOfMsgId: Statement<[string, string], { seq: number }>;
  readonly insertMessage: Statement<[string, number, string, number, string | null, string]>;
  readonly putItem: Statement<
    [string, string, string, number, string, number, number | null, string | null, string, string, Uint8Array]
  >;
  readonly dismissId: Statement<[string, string, string, number]>;
  readonly addInterval: Statement<[string, string, string, number | null, number, number]>;
  readonly addReminder: Statement<[string, string, number]>;
  readonly messagesAfter: Statement<[string, number, number], MessageRow>;
  readonly messagesSince: Statement<[string, number], MessageRow>;
  readonly dueReminders: Statement<[{ now: number; user: number; row: number; limit: number }], ReminderRow>;
  readonly leaseReminder: Statement<[string, number, number]>;
  readonly dropReminder: Statement<[number]>;
  readonly completeReminder: Statement<[string, string, number, string]>;
  readonly dropItem: Statement<[string, string]>;
  readonly dropItemReminders: Statement<[string, string]>;
  readonly dropInterval: Statement<[string, string, string, number | null, number]>;
  readonly dropMessagesBefore: Statement<[string, number]>;

  constructor(db: Database) {
    this.user = db.prepare('SELECT id, seq, rev, compacted_before FROM gregor_users WHERE uid = ?');
    this.insertUser = db.prepare(
      'INSERT INTO gregor_users (uid, seq, rev, compacted_before) VALUES (?, 0, 0, 0) RETURNING id, seq, rev, compacted_before',
    );
    this.saveUser = db.prepare('UPDATE gregor_users SET seq = ?, rev = ?, compacted_before = ? WHERE id = ?');
    this.allUids = db.prepare('SELECT uid FROM gregor_users ORDER BY id');
    this.items = db.prepare(
      `SELECT item_id, msg_id, ctime, category, created, expires, for_device, remind_at, body, digest
       FROM gregor_items WHERE uid = ?`,
    );
    this.dismissedIds = db.prepare('SELECT item_id, scope, ctime FROM gregor_dismissed_ids WHERE uid = ?');
    this.intervals = db.prepare(
      'SELECT category, scope, begin, end, ctime FROM gregor_dismissed_intervals WHERE uid = ? ORDER BY rowid',
    );
    this.seqOfMsgId = db.prepare('SELECT seq FROM gregor_messages WHERE uid = ? AND msg_id = ?');
    this.insertMessage = db.prepare(
      `INSERT INTO gregor_messages (uid, seq, msg_id, ctime, device, content) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (uid, msg_id) DO NOTHING`,
    );
    this.putItem = db.prepare(
      `INSERT OR REPLACE INTO gregor_items
       (uid, item_id, msg_id, ctime, category, created, expires, for_device, remind_at, body, digest)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.dismissId = db.prepare(
      `INSERT INTO gregor_dismissed_ids (uid, item_id, scope, ctime) VALUES (?, ?, ?, ?)
       ON CONFLICT (uid, item_id, scope) DO UPDATE SET ctime = min(ctime, excluded.ctime)`,
    );
    this.addInterval = db.prepare(
      `INSERT INTO gregor_dismissed_intervals (uid, category, scope, begin, end, ctime) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (uid, category, scope, ifnull(begin, -9007199254740991), end)
       DO UPDATE SET ctime = min(ctime, excluded.ctime)`,
    );
    this.addReminder = db.prepare(
      'INSERT OR IGNORE INTO gregor_reminders (uid, item_id, remind_at) VALUES (?, ?, ?)',
    );
    this.messagesAfter = db.prepare(
      'SELECT seq, msg_id, ctime, device, content FROM gregor_messages WHERE uid = ? AND seq > ? ORDER BY seq LIMIT ?',
    );
    this.messagesSince = db.prepare(
      'SELECT seq, msg_id, ctime, device, content FROM gregor_messages WHERE uid = ? AND ctime > ? ORDER BY seq',
    );
    // Users in creation order, then reminders in insertion order: the order the memory engine scans.
    this.dueReminders = db.prepare(
      `SELECT r.rowid AS rowid, u.id AS user_id, r.uid AS uid, r.item_id AS item_id, r.remind_at AS remind_at
       FROM gregor_reminders r JOIN gregor_users u ON u.uid = r.uid
       WHERE r.remind_at <= @now AND r.lease_until <= @now AND (u.id > @user OR (u.id = @user AND r.rowid > @row))
       ORDER BY u.id, r.rowid LIMIT @limit`,
    );
    this.leaseReminder = db.prepare(
      'UPDATE gregor_reminders SET lease_owner = ?, lease_until = ? WHERE rowid = ?',
    );
    this.dropReminder = db.prepare('DELETE FROM gregor_reminders WHERE rowid = ?');
    this.completeReminder = db.prepare(
      'DELETE FROM gregor_reminders WHERE uid = ? AND item_id = ? AND remind_at = ? AND lease_owner = ?',
    );
    this.dropItem = db.prepare('DELETE FROM gregor_items WHERE uid = ? AND item_id = ?');
    this.dropItemReminders = db.prepare('DELETE FROM gregor_reminders WHERE uid = ? AND item_id = ?');
    this.dropInterval = db.prepare(
      `DELETE FROM gregor_dismissed_intervals
       WHERE uid = ? AND category = ? AND scope = ? AND begin IS ? AND end = ?`,
    );
    this.dropMessagesBefore = db.prepare('DELETE FROM gregor_messages WHERE uid = ? AND ctime < ?');
  }
}
