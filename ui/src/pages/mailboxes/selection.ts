// Grid selection and sorting, as pure functions (tested in selection.test.ts).

export type Sel<Id extends number = number> = ReadonlySet<Id>;

/** Click: only this row. Ctrl/Cmd-click: toggle this row. Shift-click: the range from the anchor. */
export function clickSelect<Id extends number>(sel: Sel<Id>, order: readonly Id[], id: Id, anchor: Id | null, mods: { ctrl: boolean; shift: boolean }): Set<Id> {
  if (mods.shift && anchor !== null) {
    const a = order.indexOf(anchor);
    const b = order.indexOf(id);
    if (a >= 0 && b >= 0) {
      const [lo, hi] = a < b ? [a, b] : [b, a];
      const out = mods.ctrl ? new Set(sel) : new Set<Id>();
      for (let i = lo; i <= hi; i++) out.add(order[i]);
      return out;
    }
  }
  if (mods.ctrl) {
    const out = new Set(sel);
    if (out.has(id)) out.delete(id);
    else out.add(id);
    return out;
  }
  return new Set([id]);
}

/** The header checkbox: select every row, or none when all are selected. */
export function toggleAll<Id extends number>(sel: Sel<Id>, order: readonly Id[]): Set<Id> {
  return order.length > 0 && order.every((id) => sel.has(id)) ? new Set<Id>() : new Set(order);
}

/** Keeps only rows that still exist (after a refresh or a view change). */
export function prune<Id extends number>(sel: Sel<Id>, order: readonly Id[]): Set<Id> {
  const present = new Set(order);
  return new Set([...sel].filter((id) => present.has(id)));
}

export type SortDir = "asc" | "desc";

/** Sorts rows by a column, text in the user's language order, numbers and nulls sensibly. */
export function sortRows<T>(rows: readonly T[], key: keyof T, dir: SortDir, locale: string): T[] {
  const collator = new Intl.Collator(locale, { numeric: true });
  const sign = dir === "asc" ? 1 : -1;
  return [...rows].sort((x, y) => {
    const a = x[key] as unknown;
    const b = y[key] as unknown;
    if (a === b) return 0;
    if (a === null || a === undefined) return 1;
    if (b === null || b === undefined) return -1;
    if (typeof a === "number" && typeof b === "number") return (a - b) * sign;
    return collator.compare(String(a), String(b)) * sign;
  });
}
