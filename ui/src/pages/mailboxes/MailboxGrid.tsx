// A virtualised grid: only the rows in view are in the DOM, so 10,000 mailboxes scroll smoothly.
import { createVirtualizer } from "@tanstack/solid-virtual";
import { For, Show } from "solid-js";
import type { MailboxDto_Serialize, MailboxId } from "../../api";
import { t } from "../../i18n";
import type { SortDir } from "./selection";

export type Column = { key: keyof MailboxDto_Serialize; title: string; width: number; render: (m: MailboxDto_Serialize) => string };

export const ROW_HEIGHT = 32;

export function MailboxGrid(props: {
  rows: MailboxDto_Serialize[];
  columns: Column[];
  selected: ReadonlySet<MailboxId>;
  sort: { key: keyof MailboxDto_Serialize; dir: SortDir };
  onSort: (key: keyof MailboxDto_Serialize) => void;
  onRowClick: (id: MailboxId, e: MouseEvent) => void;
  onRowOpen: (id: MailboxId) => void;
  onToggleAll: () => void;
}) {
  let scroller!: HTMLDivElement;
  const virtualizer = createVirtualizer({
    get count() {
      return props.rows.length;
    },
    getScrollElement: () => scroller,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
  const template = () => `36px ${props.columns.map((c) => `${c.width}px`).join(" ")}`;
  const allSelected = () => props.rows.length > 0 && props.rows.every((r) => props.selected.has(r.id));

  return (
    <div class="vgrid" data-testid="mailbox-grid" role="grid" aria-rowcount={props.rows.length}>
      <div class="vgrid-header" style={{ "grid-template-columns": template() }} role="row">
        <span><input type="checkbox" aria-label="all" data-testid="select-all" checked={allSelected()} onChange={props.onToggleAll} /></span>
        <For each={props.columns}>
          {(c) => (
            <button type="button" class="th" data-testid={`sort-${String(c.key)}`} onClick={() => props.onSort(c.key)}>
              {c.title}
              <Show when={props.sort.key === c.key}>{props.sort.dir === "asc" ? " ▲" : " ▼"}</Show>
            </button>
          )}
        </For>
      </div>
      <div class="vgrid-body" ref={scroller} data-testid="mailbox-grid-body">
        <Show when={props.rows.length > 0} fallback={<div class="muted pad">{t("common.empty")}</div>}>
          <div style={{ height: `${virtualizer.getTotalSize()}px`, position: "relative" }}>
            <For each={virtualizer.getVirtualItems()}>
              {(v) => {
                const row = () => props.rows[v.index];
                return (
                  <Show when={row()}>
                    <div
                      class="vgrid-row"
                      role="row"
                      classList={{ selected: props.selected.has(row().id) }}
                      data-testid="mailbox-row"
                      data-id={row().id}
                      data-name={row().name}
                      style={{ transform: `translateY(${v.start}px)`, height: `${ROW_HEIGHT}px`, "grid-template-columns": template() }}
                      onClick={(e) => props.onRowClick(row().id, e)}
                      onDblClick={() => props.onRowOpen(row().id)}
                    >
                      <span><input type="checkbox" tabIndex={-1} checked={props.selected.has(row().id)} onClick={(e) => { e.stopPropagation(); props.onRowClick(row().id, new MouseEvent("click", { ctrlKey: true })); }} /></span>
                      <For each={props.columns}>{(c) => <span class="td" data-col={String(c.key)}>{c.render(row())}</span>}</For>
                    </div>
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
