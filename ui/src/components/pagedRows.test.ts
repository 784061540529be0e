import { describe, expect, it } from "vitest";
import { createRoot } from "solid-js";
import { createPagedRows } from "./pagedRows";

const settle = () => new Promise((r) => setTimeout(r, 0));

describe("rows read a page at a time", () => {
  it("reads a view that was empty again after a refresh, and finds its new rows", async () => {
    let rows: string[] = [];
    const asked: number[] = [];
    await createRoot(async (dispose) => {
      const paged = createPagedRows<string>({
        pageSize: 2,
        fetch: (offset, limit) => {
          asked.push(offset);
          return Promise.resolve({ rows: rows.slice(offset, offset + limit), total: rows.length });
        },
        onError: (e) => {
          throw e;
        },
      });
      paged.reset();
      await settle();
      expect(paged.total()).toBe(0);
      // Rows arrive (an import): a refresh that keeps the known total reads the first page again.
      rows = ["a", "b", "c"];
      paged.reset(false);
      await settle();
      expect(paged.total()).toBe(3);
      expect([paged.row(0), paged.row(1), paged.row(2)]).toEqual(["a", "b", undefined]);
      // Pages past the end are not asked for; the second page is, when in view.
      paged.range(0, 10);
      await settle();
      expect(paged.row(2)).toBe("c");
      expect(asked).toEqual([0, 0, 2]);
      dispose();
    });
  });

  it("reads the pages in view again on a refresh, showing the rows it has until their answers come", async () => {
    let rows = ["a", "b", "c", "d", "e"];
    const asked: number[] = [];
    const pending: (() => void)[] = [];
    await createRoot(async (dispose) => {
      const paged = createPagedRows<string>({
        pageSize: 2,
        fetch: (offset, limit) => {
          asked.push(offset);
          const answer = { rows: rows.slice(offset, offset + limit), total: rows.length };
          return new Promise((resolve) => pending.push(() => resolve(answer)));
        },
        onError: (e) => {
          throw e;
        },
      });
      const answerAll = async () => {
        while (pending.length) pending.shift()!();
        await settle();
      };
      paged.reset();
      await answerAll();
      paged.range(3, 4);
      await answerAll();
      expect(asked).toEqual([0, 2, 4]);
      // The last row is sent, another changes: a refresh reads the first page and the pages in
      // view again; until they answer, the rows shown stay.
      rows = ["a", "b", "c", "D"];
      asked.length = 0;
      paged.reset(false);
      expect(paged.row(4)).toBe("e");
      await answerAll();
      expect(asked).toEqual([0, 2, 4]);
      expect(paged.total()).toBe(4);
      expect([paged.row(3), paged.row(4)]).toEqual(["D", undefined]);
      // A new view drops the old rows at once.
      paged.reset();
      expect(paged.row(0)).toBeUndefined();
      expect(paged.total()).toBeNull();
      dispose();
    });
  });
});
