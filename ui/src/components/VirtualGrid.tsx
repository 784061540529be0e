// A virtualised grid for any record (the MailboxGrid approach, made generic): only the rows in
// view are in the DOM, so tens of thousands of rows scroll smoothly. Rows may arrive lazily: a
// row not loaded yet shows as a placeholder, and `onRange` says which rows are in view so the
// page can load them.
import { createVirtualizer } from "@tanstack/solid-virtual";
import { For, Show, createEffect, createSignal, type JSX } from "solid-js";
import { t } from "../i18n";
import type { SortDir } from "../pages/mailboxes/selection";

export type GridColumn<T> = {
  key: string;
  title: string;
  width: number;
  render: (row: T) => JSX.Element;
  /** Whether the header sorts by this column (the page does the sorting). */
  sortable?: boolean;
};

export const GRID_ROW_HEIGHT = 32;

export function VirtualGrid<T, Id extends number>(props: {
  /** data-testid of the grid; its rows are `rowTestid`. */
  testid: string;
  rowTestid: string;
  label: string;
  count: number;
  row: (index: number) => T | undefined;
  rowId: (row: T) => Id;
  rowName?: (row: T) => string;
  /** More `data-*` attributes of a row (its state, for styles and tests). */
  rowData?: (row: T) => Record<`data-${string}`, string>;
  /** Classes of a row (its state). */
  rowClass?: (row: T) => Record<string, boolean>;
  /** The row open beside the grid (its details, its form), marked `aria-current`. */
  current?: Id | null;
  columns: GridColumn<T>[];
  selectable?: boolean;
  selected?: ReadonlySet<Id>;
  /** Whether a row is selected, when the selection is not a set of ids (a whole view but some). */
  isSelected?: (id: Id) => boolean;
  allSelected?: boolean;
  onToggleAll?: () => void;
  sort?: { key: string; dir: SortDir } | null;
  onSort?: (key: string) => void;
  onRowClick?: (id: Id, e: MouseEvent) => void;
  onRowOpen?: (id: Id) => void;
  onRange?: (first: number, last: number) => void;
  empty?: string;
}) {
  let scroller!: HTMLDivElement;
  let header!: HTMLDivElement;
  const virtualizer = createVirtualizer({
    get count() {
      return props.count;
    },
    getScrollElement: () => scroller,
    estimateSize: () => GRID_ROW_HEIGHT,
    overscan: 12,
  });
  const template = () => `${props.selectable ? "36px " : ""}${props.columns.map((c) => `${c.width}px`).join(" ")}`;
  const isSelected = (r: T) => (props.isSelected ? props.isSelected(props.rowId(r)) : (props.selected?.has(props.rowId(r)) ?? false));

  // One row is in the Tab order (the last one focused); arrow keys move between rows
  // (Home/End to the first and last, PageUp/PageDown by a screen): the row is scrolled into view,
  // then focused once it is rendered.
  const [active, setActive] = createSignal(0);
  function focusRow(index: number) {
    const target = Math.max(0, Math.min(props.count - 1, index));
    virtualizer.scrollToIndex(target, { align: "auto" });
    const attempt = (tries: number) => {
      const el = scroller?.querySelector<HTMLElement>(`[role="row"][aria-rowindex="${target + 2}"]`);
      if (el) el.focus();
      else if (tries > 0) requestAnimationFrame(() => attempt(tries - 1));
    };
    requestAnimationFrame(() => attempt(10));
  }
  function navigate(e: KeyboardEvent, index: number): boolean {
    const page = Math.max(1, Math.floor((scroller?.clientHeight ?? GRID_ROW_HEIGHT * 10) / GRID_ROW_HEIGHT) - 1);
    const to = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: props.count - 1, PageDown: index + page, PageUp: index - page }[e.key];
    if (to === undefined) return false;
    e.preventDefault();
    focusRow(to);
    return true;
  }

  createEffect(() => {
    const items = virtualizer.getVirtualItems();
    if (items.length && props.onRange) props.onRange(items[0].index, items[items.length - 1].index);
  });

  return (
    <div class="vgrid" data-testid={props.testid} role="grid" aria-label={props.label} aria-rowcount={props.count + 1}
      aria-multiselectable={props.selectable ? true : undefined}>
      {/* The header scrolls with the body, sideways: it never widens the page, and its columns stay
          over the body's (a sort button reached with Tab, which scrolls the header to show it,
          brings the body along). Its extra last track covers the body's vertical scroll bar. */}
      <div class="vgrid-header" ref={header} style={{ "grid-template-columns": `${template()} 24px` }} role="row" aria-rowindex={1}
        onFocusIn={() => requestAnimationFrame(() => { scroller.scrollLeft = header.scrollLeft; })}>
        <Show when={props.selectable}>
          <span role="columnheader">
            <Show when={props.onToggleAll} fallback={<span class="sr-only">{t("grid.selectRow")}</span>}>
              <input type="checkbox" aria-label={t("grid.selectAll")} data-testid={`${props.testid}-select-all`}
                checked={!!props.allSelected} onChange={() => props.onToggleAll?.()} />
            </Show>
          </span>
        </Show>
        <For each={props.columns}>
          {(c) => (
            <Show when={c.sortable && props.onSort} fallback={<span class="th" role="columnheader">{c.title}</span>}>
              <span role="columnheader" class="sortable"
                aria-sort={props.sort?.key === c.key ? (props.sort.dir === "asc" ? "ascending" : "descending") : undefined}>
                <button type="button" class="th" data-testid={`sort-${c.key}`} onClick={() => props.onSort?.(c.key)}>
                  {c.title}
                  <Show when={props.sort?.key === c.key}>{props.sort!.dir === "asc" ? " ▲" : " ▼"}</Show>
                </button>
              </span>
            </Show>
          )}
        </For>
      </div>
      <div class="vgrid-body" ref={scroller} data-testid={`${props.testid}-body`}
        onScroll={() => { if (header.scrollLeft !== scroller.scrollLeft) header.scrollLeft = scroller.scrollLeft; }}>
        <Show when={props.count > 0} fallback={<div class="muted pad" data-testid={`${props.testid}-empty`}>{props.empty ?? t("common.empty")}</div>}>
          <div style={{ height: `${virtualizer.getTotalSize()}px`, position: "relative" }}>
            <For each={virtualizer.getVirtualItems()}>
              {(v) => {
                const row = () => props.row(v.index);
                const style = () => ({ transform: `translateY(${v.start}px)`, height: `${GRID_ROW_HEIGHT}px`, "grid-template-columns": template() });
                return (
                  <Show when={row()} fallback={
                    <div class="vgrid-row placeholder" role="row" aria-rowindex={v.index + 2} aria-busy="true" tabIndex={-1}
                      data-testid={`${props.rowTestid}-loading`} style={style()} onKeyDown={(e) => navigate(e, v.index)}>
                      <span class="muted">{t("common.loading")}</span>
                    </div>
                  }>
                    {(r) => (
                      <div
                        class="vgrid-row"
                        role="row"
                        tabIndex={v.index === active() ? 0 : -1}
                        onFocus={() => setActive(v.index)}
                        aria-rowindex={v.index + 2}
                        aria-selected={props.selectable ? isSelected(r()) : undefined}
                        classList={{ ...props.rowClass?.(r()), selected: isSelected(r()), current: props.current === props.rowId(r()) }}
                        aria-current={props.current === props.rowId(r()) ? "true" : undefined}
                        ref={(el) => props.rowData && createEffect(() => {
                          for (const [k, v] of Object.entries(props.rowData!(r()))) el.setAttribute(k, v);
                        })}
                        data-testid={props.rowTestid}
                        data-id={props.rowId(r())}
                        data-name={props.rowName?.(r())}
                        style={style()}
                        onClick={(e) => props.onRowClick?.(props.rowId(r()), e)}
                        onDblClick={() => props.onRowOpen?.(props.rowId(r()))}
                        onKeyDown={(e) => {
                          if (navigate(e, v.index)) return;
                          // Enter and Space on a button in the row are that button's.
                          if (e.target !== e.currentTarget) return;
                          if (e.key === "Enter") props.onRowOpen?.(props.rowId(r()));
                          else if (e.key === " " && props.selectable) {
                            e.preventDefault();
                            props.onRowClick?.(props.rowId(r()), new MouseEvent("click", { ctrlKey: true }));
                          }
                        }}
                      >
                        <Show when={props.selectable}>
                          <span role="gridcell">
                            <input type="checkbox" tabIndex={-1} aria-label={t("grid.selectRow")} checked={isSelected(r())}
                              data-testid={`${props.rowTestid}-select`}
                              onClick={(e) => { e.stopPropagation(); props.onRowClick?.(props.rowId(r()), new MouseEvent("click", { ctrlKey: true })); }} />
                          </span>
                        </Show>
                        <For each={props.columns}>{(c) => <span class="td" role="gridcell" data-col={c.key}>{c.render(r())}</span>}</For>
                      </div>
                    )}
                  </Show>
                );
              }}
            </For>
          </div>
        </Show>
      </div>
    </div>
  );
}
