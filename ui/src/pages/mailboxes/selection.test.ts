import { describe, expect, it } from "vitest";
import { clickSelect, prune, sortRows, toggleAll } from "./selection";

const order = [10, 20, 30, 40, 50];
const none = { ctrl: false, shift: false };

describe("grid selection", () => {
  it("a plain click selects only that row", () => {
    expect([...clickSelect(new Set([10, 20]), order, 30, 10, none)]).toEqual([30]);
  });
  it("ctrl-click toggles one row and keeps the others", () => {
    const s = clickSelect(new Set([10]), order, 30, 10, { ctrl: true, shift: false });
    expect([...s].sort()).toEqual([10, 30]);
    expect([...clickSelect(s, order, 10, 30, { ctrl: true, shift: false })]).toEqual([30]);
  });
  it("shift-click selects the range from the anchor, in either direction", () => {
    expect([...clickSelect(new Set([20]), order, 40, 20, { ctrl: false, shift: true })]).toEqual([20, 30, 40]);
    expect([...clickSelect(new Set([40]), order, 20, 40, { ctrl: false, shift: true })]).toEqual([20, 30, 40]);
  });
  it("the header checkbox selects all, then none", () => {
    const all = toggleAll(new Set<number>(), order);
    expect(all.size).toBe(5);
    expect(toggleAll(all, order).size).toBe(0);
  });
  it("rows that left the view leave the selection", () => {
    expect([...prune(new Set([10, 99]), order)]).toEqual([10]);
  });
  it("sorts text by the language's collation and keeps empty values last", () => {
    const rows = [{ n: "b" }, { n: null }, { n: "Ä" }, { n: "a" }] as { n: string | null }[];
    expect(sortRows(rows, "n", "asc", "en").map((r) => r.n)).toEqual(["a", "Ä", "b", null]);
    expect(sortRows(rows, "n", "desc", "en").map((r) => r.n)).toEqual(["b", "Ä", "a", null]);
  });
  it("sorts 10,000 rows quickly enough for a grid", () => {
    const many = Array.from({ length: 10000 }, (_, i) => ({ id: i, name: `Mailbox ${10000 - i}` }));
    const sorted = sortRows(many, "name", "asc", "en");
    expect(sorted[0].name).toBe("Mailbox 1");
    expect(sorted[9999].name).toBe("Mailbox 10000");
  });
});
