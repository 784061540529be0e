// The selection of a paged grid: rows picked one by one, or the whole view but some (so "all"
// of 100,000 rows is a query, not 100,000 ids). Click picks a row, Ctrl/Cmd-click toggles it,
// Shift-click picks the range from the anchor among the rows read so far.
import { createMemo, createSignal } from "solid-js";

export type GridSelection<Id extends number> = { all: false; ids: Set<Id> } | { all: true; except: Set<Id> };

export function createGridSelection<T, Id extends number>(options: {
  /** The view's size, once known. */
  total: () => number | null;
  row: (index: number) => T | undefined;
  indexWhere: (pred: (row: T) => boolean) => number;
  rowId: (row: T) => Id;
}) {
  const none = (): GridSelection<Id> => ({ all: false, ids: new Set<Id>() });
  const [selection, setSelection] = createSignal<GridSelection<Id>>(none());
  const [anchor, setAnchor] = createSignal<number | null>(null);
  const isSelected = (id: Id) => {
    const s = selection();
    return s.all ? !s.except.has(id) : s.ids.has(id);
  };
  const count = createMemo(() => {
    const s = selection();
    return s.all ? Math.max(0, (options.total() ?? 0) - s.except.size) : s.ids.size;
  });
  function click(id: Id, e: { ctrlKey: boolean; metaKey: boolean; shiftKey: boolean }) {
    const index = options.indexWhere((r) => options.rowId(r) === id);
    const s = selection();
    if (e.shiftKey && anchor() !== null && index >= 0) {
      const [lo, hi] = anchor()! < index ? [anchor()!, index] : [index, anchor()!];
      const ids = new Set<Id>(e.ctrlKey || e.metaKey ? (s.all ? [] : s.ids) : []);
      for (let i = lo; i <= hi; i++) {
        const r = options.row(i);
        if (r) ids.add(options.rowId(r));
      }
      setSelection({ all: false, ids });
      return;
    }
    if (e.ctrlKey || e.metaKey) {
      const set = new Set(s.all ? s.except : s.ids);
      if (set.has(id)) set.delete(id);
      else set.add(id);
      setSelection(s.all ? { all: true, except: set } : { all: false, ids: set });
    } else {
      setSelection({ all: false, ids: new Set([id]) });
    }
    setAnchor(index >= 0 ? index : null);
  }
  return {
    selection,
    isSelected,
    count,
    click,
    /** The header checkbox: the whole view, or none when the whole view is selected. */
    toggleAll: () => {
      const s = selection();
      setSelection(s.all && s.except.size === 0 ? none() : { all: true, except: new Set<Id>() });
    },
    clear: () => {
      setSelection(none());
      setAnchor(null);
    },
    /** The selection as the engine takes it, given the view's query. */
    dto: <Q>(query: Q): { by: "query"; query: Q; except: Id[] } | { by: "ids"; ids: Id[] } => {
      const s = selection();
      return s.all ? { by: "query", query, except: [...s.except] } : { by: "ids", ids: [...s.ids] };
    },
  };
}
