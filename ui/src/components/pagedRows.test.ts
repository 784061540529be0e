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
});
