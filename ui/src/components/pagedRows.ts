// The rows of a grid read a page at a time from the engine, as the grid scrolls: the first page
// says how many rows there are, rows not read yet are `undefined` (the grid shows placeholders),
// and a reset (a new filter or sort, a refresh) starts a new generation whose answers replace
// the old ones: a late answer for an older generation is dropped. A reset reads again the first
// page and the pages in view. A refresh (the view itself unchanged) keeps showing the rows it
// has until their pages are read again, so a grid read every few seconds does not flicker.
import { createSignal } from "solid-js";

export type Page<T> = { rows: T[]; total: number };

export function createPagedRows<T, P extends Page<T> = Page<T>>(options: {
  pageSize: number;
  /** Rows `offset..offset + limit` and the total, or null when there is nothing to read. */
  fetch: (offset: number, limit: number) => Promise<P> | null;
  onError: (e: unknown) => void;
  /** Each answer of the current generation, once its rows are in (what else it carries). */
  onAnswer?: (answer: P, offset: number) => void;
}) {
  const size = options.pageSize;
  let rows: (T | undefined)[] = [];
  const asked = new Set<number>();
  let generation = 0;
  const [version, setVersion] = createSignal(0);
  const [total, setTotal] = createSignal<number | null>(null);
  const [inFlight, setInFlight] = createSignal(0);
  // The rows last in view (the grid's `onRange`).
  let inView: [number, number] | null = null;

  async function load(page: number) {
    if (asked.has(page) || page < 0) return;
    const known = total();
    // Past the end of the view (the first page is always read: an empty view may have rows now).
    if (known !== null && page > 0 && page * size >= known) return;
    const request = options.fetch(page * size, size);
    if (request === null) return;
    asked.add(page);
    const gen = generation;
    setInFlight((n) => n + 1);
    try {
      const answer = await request;
      if (gen !== generation) return;
      answer.rows.forEach((r, i) => (rows[page * size + i] = r));
      if (rows.length > answer.total) rows.length = answer.total;
      setTotal(answer.total);
      setVersion((v) => v + 1);
      options.onAnswer?.(answer, page * size);
    } catch (e) {
      if (gen !== generation) return;
      asked.delete(page);
      options.onError(e);
    } finally {
      setInFlight((n) => n - 1);
    }
  }

  return {
    /** The row at `index`, once read (reactive). */
    row: (index: number) => {
      version();
      return rows[index];
    },
    /** The index of the first row read so far that satisfies `pred`, or -1. */
    indexWhere: (pred: (row: T) => boolean) => rows.findIndex((r) => r !== undefined && pred(r)),
    /** The first row read so far that satisfies `pred` (reactive: it follows new answers). */
    find: (pred: (row: T) => boolean): T | undefined => {
      version();
      return rows.find((r): r is T => r !== undefined && pred(r));
    },
    total,
    inFlight,
    /** Reads the pages rows `first..last` fall in (the grid's `onRange`). */
    range: (first: number, last: number) => {
      inView = [first, last];
      for (let p = Math.floor(first / size); p <= Math.floor(last / size); p++) void load(p);
    },
    /** Reads again the first page and the pages in view; `forgetTotal` while the view itself
     * changed (its old rows are dropped at once), not for a refresh. */
    reset: (forgetTotal = true) => {
      generation++;
      asked.clear();
      if (forgetTotal) {
        rows = [];
        setTotal(null);
        setVersion((v) => v + 1);
      }
      void load(0);
      if (inView) for (let p = Math.floor(inView[0] / size); p <= Math.floor(inView[1] / size); p++) void load(p);
    },
  };
}
