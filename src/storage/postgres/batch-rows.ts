import { bytesToHex } from '@noble/hashes/utils';
import { encodeInBand } from '../../core/codec.js';
import { GLOBAL, type StoredItem } from '../../core/user-state.js';
import type { InBandMessage } from '../../protocol/message.js';
import type { PgQueryable } from './driver.js';
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

  /** Writes everything set-based: a handful of statements whatever the batch size. */
  async write(q: PgQueryable): Promise<void> {
    if (this.empty) return;
    await this.#writeMessages(q);
    if (this.#items.size > 0) await this.#writeItems(q);
    if (this.#ids.size > 0) await this.#writeIds(q);
    if (this.#intervals.size > 0) await this.#writeIntervals(q);
    if (this.#reminders.size > 0) await this.#writeReminders(q);
    await q.query(
      `UPDATE gregor_users u SET seq = v.seq FROM unnest($1::text[], $2::bigint[]) AS v(uid, seq)
        WHERE u.uid = v.uid`,
      [[...this.#seqs.keys()], [...this.#seqs.values()]],
    );
  }

  async #writeMessages(q: PgQueryable): Promise<void> {
    const ms = this.#messages;
    await q.query(
      `INSERT INTO gregor_messages (uid, seq, msg_id, ctime, device, content)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[])`,
      [
        ms.map((x) => x.uid),
        ms.map((x) => x.seq),
        ms.map((x) => x.m.md.msgId),
        ms.map((x) => x.m.md.ctime),
        ms.map((x) => x.m.md.device),
        ms.map((x) => encodeInBand(x.m)),
      ],
    );
  }

  async #writeItems(q: PgQueryable): Promise<void> {
    const rows = [...this.#items.values()];
    const it = rows.map((r) => r.item);
    // Earliest (ctime, msgId) wins, as in UserState.addItem; "C" compares like JavaScript does for IDs.
    await q.query(
      `INSERT INTO gregor_items AS t
         (uid, item_id, msg_id, ctime, category, created, expires, for_device, remind_at, body, digest)
       SELECT uid, item_id, msg_id, ctime, category, created, expires, for_device, remind_at::jsonb, body,
              decode(digest, 'hex')
         FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[],
                     $7::bigint[], $8::text[], $9::text[], $10::text[], $11::text[])
           AS v(uid, item_id, msg_id, ctime, category, created, expires, for_device, remind_at, body, digest)
       ON CONFLICT (uid, item_id) DO UPDATE SET
         msg_id = excluded.msg_id, ctime = excluded.ctime, category = excluded.category,
         created = excluded.created, expires = excluded.expires, for_device = excluded.for_device,
         remind_at = excluded.remind_at, body = excluded.body, digest = excluded.digest
       WHERE excluded.ctime < t.ctime
          OR (excluded.ctime = t.ctime AND excluded.msg_id COLLATE "C" < t.msg_id COLLATE "C")`,
      [
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
      ],
    );
  }

  async #writeIds(q: PgQueryable): Promise<void> {
    const rows = [...this.#ids.values()];
    await q.query(
      `INSERT INTO gregor_dismissed_ids AS t (uid, item_id, scope, ctime)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
       ON CONFLICT (uid, item_id, scope) DO UPDATE SET ctime = least(t.ctime, excluded.ctime)`,
      [rows.map((r) => r.uid), rows.map((r) => r.id), rows.map((r) => r.scope), rows.map((r) => r.ctime)],
    );
  }

  async #writeIntervals(q: PgQueryable): Promise<void> {
    const rows = [...this.#intervals.values()];
    await q.query(
      `INSERT INTO gregor_dismissed_intervals AS t (uid, category, scope, begin_at, end_at, ctime)
       SELECT uid, category, scope, coalesce(begin_at, ${BEGIN_OF_TIME}), end_at, ctime
         FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
           AS v(uid, category, scope, begin_at, end_at, ctime)
       ON CONFLICT (uid, category, scope, begin_at, end_at) DO UPDATE SET ctime = least(t.ctime, excluded.ctime)`,
      [
        rows.map((r) => r.uid),
        rows.map((r) => r.category),
        rows.map((r) => r.scope),
        rows.map((r) => r.begin),
        rows.map((r) => r.end),
        rows.map((r) => r.ctime),
      ],
    );
  }

  async #writeReminders(q: PgQueryable): Promise<void> {
    const rows = [...this.#reminders.values()];
    await q.query(
      `INSERT INTO gregor_reminders (uid, item_id, remind_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT DO NOTHING`,
      [rows.map((r) => r.uid), rows.map((r) => r.id), rows.map((r) => r.at)],
    );
  }
}
