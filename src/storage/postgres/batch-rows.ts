// PostgreSQL only: the rows of a whole batch written by one statement (data-modifying CTEs over
// unnest'ed arrays), one round trip whatever the batch size. The SQLite engine runs its prepared
// statements row by row in consume.ts: in-process calls cost no round trip.

import { bytesToHex } from '@noble/hashes/utils';
import { encodeInBand } from '../../core/codec.js';
import { GLOBAL, type StoredItem } from '../../core/user-state.js';
import type { InBandMessage } from '../../protocol/message.js';
import type { PgQueryable } from './connection.js';
import { BEGIN_OF_TIME } from './migrations.js';

/**
 * The rows one batch writes, deduplicated by key: one INSERT … ON CONFLICT DO UPDATE may not touch
 * the same row twice, and the keep-earliest rules make the first-wins choice here the same as the
 * database's.
 */
export class BatchRows {
  readonly #messages: { uid: string; seq: number; m: InBandMessage }[] = [];
  readonly #items = new Map<string, { uid: string; item: StoredItem }>();
  readonly #ids = new Map<string, { uid: string; id: string; scope: string; ctime: number }>();
  readonly #intervals = new Map<
    string,
    { uid: string; category: string; scope: string; begin: number | null; end: number; ctime: number }
  >();
  readonly #reminders = new Map<string, { uid: string; id: string; at: number }>();
  readonly #seqs = new Map<string, number>();

  /** Records a stored message; `winner` gives the replica's item for an ID after applying it. */
  add(uid: string, seq: number, m: InBandMessage, winner: (id: string) => StoredItem): void {
    this.#messages.push({ uid, seq, m });
    this.#seqs.set(uid, seq);
    if (m.kind !== 'update') return;
    for (const item of m.create) {
      this.#items.set(`${uid}\0${item.id}`, { uid, item: winner(item.id) });
      for (const at of item.remindAt)
        this.#reminders.set(`${uid}\0${item.id}\0${at}`, { uid, id: item.id, at });
    }
    if (!m.dismiss) return;
    const scope = m.dismiss.forDevice ?? GLOBAL;
    const ctime = m.md.ctime;
    for (const id of m.dismiss.ids) {
      const key = `${uid}\0${id}\0${scope}`;
      const old = this.#ids.get(key);
      if (!old || ctime < old.ctime) this.#ids.set(key, { uid, id, scope, ctime });
    }
    for (const i of m.dismiss.intervals) {
      const key = `${uid}\0${i.category}\0${scope}\0${i.begin}\0${i.end}`;
      const old = this.#intervals.get(key);
      if (!old || ctime < old.ctime) this.#intervals.set(key, { uid, ...i, scope, ctime });
    }
  }

  get empty(): boolean {
    return this.#messages.length === 0;
  }

  /**
   * Writes everything in one statement (data-modifying CTEs over unnest'ed arrays): one round
   * trip whatever the batch size.
   */
  async write(q: PgQueryable): Promise<void> {
    if (this.empty) return;
    const sql = new Statement();
    this.#messagesSql(sql);
    if (this.#items.size > 0) this.#itemsSql(sql);
    if (this.#ids.size > 0) this.#idsSql(sql);
    if (this.#intervals.size > 0) this.#intervalsSql(sql);
    if (this.#reminders.size > 0) this.#remindersSql(sql);
    const seqs = sql.params([...this.#seqs.keys()], [...this.#seqs.values()]);
    sql.finish(
      `UPDATE gregor_users u SET seq = v.seq FROM unnest(${seqs[0]}::text[], ${seqs[1]}::bigint[]) AS v(uid, seq)
        WHERE u.uid = v.uid`,
    );
    // One prepared statement per combination of parts: the text depends only on which are present.
    await q.query({ name: `gregor_write_${sql.shape}`, text: sql.text, values: sql.values });
  }

  #messagesSql(sql: Statement): void {
    const ms = this.#messages;
    const p = sql.params(
      ms.map((x) => x.uid),
      ms.map((x) => x.seq),
      ms.map((x) => x.m.md.msgId),
      ms.map((x) => x.m.md.ctime),
      ms.map((x) => x.m.md.device),
      ms.map((x) => encodeInBand(x.m)),
    );
    sql.cte(
      `INSERT INTO gregor_messages (uid, seq, msg_id, ctime, device, content)
       SELECT * FROM unnest(${p[0]}::text[], ${p[1]}::bigint[], ${p[2]}::text[], ${p[3]}::bigint[], ${p[4]}::text[], ${p[5]}::text[])`,
      'm',
    );
  }

  #itemsSql(sql: Statement): void {
    const rows = [...this.#items.values()];
    const it = rows.map((r) => r.item);
    const p = sql.params(
      rows.map((r) => r.uid),
      it.map((i) => i.id),
      it.map((i) => i.msgId),
      it.map((i) => i.ctime),
      it.map((i) => i.category),
      it.map((i) => i.created),
      it.map((i) => i.expires),
      it.map((i) => i.forDevice),
      it.map((i) => JSON.stringify(i.remindAt)),
      it.map((i) => JSON.stringify(i.body)),
      it.map((i) => bytesToHex(i.digest)),
    );
    // Earliest (ctime, msgId) wins, as in UserState.addItem; "C" compares like JavaScript does for IDs.
    sql.cte(
      `INSERT INTO gregor_items AS t
         (uid, item_id, msg_id, ctime, category, created, expires, for_device, remind_at, body, digest)
       SELECT uid, item_id, msg_id, ctime, category, created, expires, for_device, remind_at::jsonb, body,
              decode(digest, 'hex')
         FROM unnest(${p[0]}::text[], ${p[1]}::text[], ${p[2]}::text[], ${p[3]}::bigint[], ${p[4]}::text[],
                     ${p[5]}::bigint[], ${p[6]}::bigint[], ${p[7]}::text[], ${p[8]}::text[], ${p[9]}::text[],
                     ${p[10]}::text[])
           AS v(uid, item_id, msg_id, ctime, category, created, expires, for_device, remind_at, body, digest)
       ON CONFLICT (uid, item_id) DO UPDATE SET
         msg_id = excluded.msg_id, ctime = excluded.ctime, category = excluded.category,
         created = excluded.created, expires = excluded.expires, for_device = excluded.for_device,
         remind_at = excluded.remind_at, body = excluded.body, digest = excluded.digest
       WHERE excluded.ctime < t.ctime
          OR (excluded.ctime = t.ctime AND excluded.msg_id COLLATE "C" < t.msg_id COLLATE "C")`,
      'i',
    );
  }

  #idsSql(sql: Statement): void {
    const rows = [...this.#ids.values()];
    const p = sql.params(
      rows.map((r) => r.uid),
      rows.map((r) => r.id),
      rows.map((r) => r.scope),
      rows.map((r) => r.ctime),
    );
    sql.cte(
      `INSERT INTO gregor_dismissed_ids AS t (uid, item_id, scope, ctime)
       SELECT * FROM unnest(${p[0]}::text[], ${p[1]}::text[], ${p[2]}::text[], ${p[3]}::bigint[])
       ON CONFLICT (uid, item_id, scope) DO UPDATE SET ctime = least(t.ctime, excluded.ctime)`,
      'd',
    );
  }

  #intervalsSql(sql: Statement): void {
    const rows = [...this.#intervals.values()];
    const p = sql.params(
      rows.map((r) => r.uid),
      rows.map((r) => r.category),
      rows.map((r) => r.scope),
      rows.map((r) => r.begin),
      rows.map((r) => r.end),
      rows.map((r) => r.ctime),
    );
    sql.cte(
      `INSERT INTO gregor_dismissed_intervals AS t (uid, category, scope, begin_at, end_at, ctime)
       SELECT uid, category, scope, coalesce(begin_at, ${BEGIN_OF_TIME}), end_at, ctime
         FROM unnest(${p[0]}::text[], ${p[1]}::text[], ${p[2]}::text[], ${p[3]}::bigint[], ${p[4]}::bigint[],
                     ${p[5]}::bigint[]) AS v(uid, category, scope, begin_at, end_at, ctime)
       ON CONFLICT (uid, category, scope, begin_at, end_at) DO UPDATE SET ctime = least(t.ctime, excluded.ctime)`,
      'v',
    );
  }

  #remindersSql(sql: Statement): void {
    const rows = [...this.#reminders.values()];
    const p = sql.params(
      rows.map((r) => r.uid),
      rows.map((r) => r.id),
      rows.map((r) => r.at),
    );
    sql.cte(
      `INSERT INTO gregor_reminders (uid, item_id, remind_at)
       SELECT * FROM unnest(${p[0]}::text[], ${p[1]}::text[], ${p[2]}::bigint[]) ON CONFLICT DO NOTHING`,
      'r',
    );
  }
}

/** Builds one statement of several data-modifying CTEs and a final statement, numbering parameters. */
class Statement {
  readonly values: unknown[] = [];
  readonly #ctes: string[] = [];
  text = '';

  /** Adds parameters; returns their placeholders ($n). */
  params(...values: unknown[]): string[] {
    return values.map((v) => `$${this.values.push(v)}`);
  }

  /** Which CTEs were added, as a short key. */
  shape = '';

  cte(sql: string, part: string): void {
    this.#ctes.push(`w${this.#ctes.length} AS (${sql})`);
    this.shape += part;
  }

  finish(last: string): void {
    this.text = this.#ctes.length > 0 ? `WITH ${this.#ctes.join(',\n')}\n${last}` : last;
  }
}
