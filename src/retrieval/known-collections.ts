import { Injectable } from '@nestjs/common';
import type { CollectionRecord } from './store/vector-store.js';

/** Most collection records kept; the oldest remembered is dropped beyond. */
const MAX_KNOWN = 1024;

/**
 * Collection records by name, kept for searches so a search needs no lookup statement before its
 * query (one round trip to the store fewer per search). Only records that cannot change are kept:
 * a collection's id, model and requested dimensions never change, and its dimensions change only
 * once, from null (so a record with null dimensions is kept only for a text-only collection).
 * What can happen is a delete (here or by another instance), perhaps followed by a new collection
 * of the same name under a new id (ids are never reused): the old id then has no rows, so the search
 * finds nothing, and SearchService looks the name up again whenever a search with a remembered record
 * finds nothing or fails. Rows found under the remembered id prove the record current.
 */
@Injectable()
export class KnownCollections {
  private readonly byName = new Map<string, CollectionRecord>();

  get(name: string): CollectionRecord | undefined {
    return this.byName.get(name);
  }

  remember(record: CollectionRecord): void {
    if (record.dimensions === null && record.model !== null) return;
    this.byName.delete(record.name);
    this.byName.set(record.name, record);
    if (this.byName.size > MAX_KNOWN) this.byName.delete(this.byName.keys().next().value!);
  }

  forget(name: string): void {
    this.byName.delete(name);
  }
}

/** The same collection, unchanged in everything a search uses. */
export function sameCollection(a: CollectionRecord, b: CollectionRecord): boolean {
  return a.id === b.id && a.model === b.model && a.dimensions === b.dimensions && a.requested_dimensions === b.requested_dimensions;
}
