// Contacts, Accounts, Leads: Active / Inactive views in a virtualised grid whose rows the engine
// reads a page at a time (sorted and searched in SQL: an organisation may have 100,000 of them),
// New and the record form, Activate / Deactivate of the selected rows (a whole view is selected
// by query), and Import from CSV (all rows or none).
import { For, Show, createEffect, createSignal, on } from "solid-js";
import { ApiError, type RecordQuery_Deserialize, type RecordSortKey, type UserId } from "../../api";
import { ErrorBanner, TextField, errorText } from "../../components/form";
import { createDebounced } from "../../components/debounced";
import { createGridSelection } from "../../components/gridSelection";
import { createUserNames } from "../../components/nameLookup";
import { OwnerFields, createOwnerSearch } from "../../components/ownerSearch";
import { createPagedRows } from "../../components/pagedRows";
import { VirtualGrid, type GridColumn } from "../../components/VirtualGrid";
import { fieldLabel, formatDate, optionLabel, t, tn } from "../../i18n";
import type { SortDir } from "../mailboxes/selection";
import { KINDS, changesOf, valuesOf, type AnyRecord, type RecordChanges, type RecordEntity, type RecordKind } from "./kinds";

/** Rows read from the engine at a time. */
export const PAGE_SIZE = 200;

/** A request to open one record (a new object each time, so the same record can be opened twice). */
export type OpenRequest = { id: number } | null;

export function RecordsPage(props: { entity: RecordEntity; open?: OpenRequest }) {
  // Each entity has its own page instance (App renders one per page id).
  const kind = KINDS[props.entity];
  const [view, setView] = createSignal<"active" | "inactive">("active");
  const searchBox = createDebounced();
  const search = searchBox.value;
  const searchText = searchBox.text;
  const typeSearch = searchBox.input;
  const [sort, setSort] = createSignal<{ key: RecordSortKey; dir: SortDir }>({ key: "name", dir: "asc" });
  const [editing, setEditing] = createSignal<{ record: AnyRecord | null } | null>(null);
  const [error, setError] = createSignal<unknown>(null);
  const [imported, setImported] = createSignal<number | null>(null);
  const [importError, setImportError] = createSignal<unknown>(null);
  const [importing, setImporting] = createSignal(false);

  const query = (): RecordQuery_Deserialize => ({ view: view(), search: search().trim() || null });
  const paged = createPagedRows<AnyRecord>({
    pageSize: PAGE_SIZE,
    fetch: (offset, limit) => kind.page(query(), { key: sort().key, descending: sort().dir === "desc" }, offset, limit),
    onError: setError,
  });
  const total = paged.total;
  const selection = createGridSelection<AnyRecord, number>({ total, row: paged.row, indexWhere: paged.indexWhere, rowId: (r) => r.id });
  // Another view, search or sort: a new grid, nothing selected.
  createEffect(on([query, sort], () => {
    selection.clear();
    paged.reset();
  }));
  /** Reads the view again (after a command): the rows in view come back first. */
  const refetch = () => paged.reset(false);
  /** The selected ids (a whole view is read in the engine). */
  const ids = async (): Promise<number[]> => {
    const s = selection.selection();
    return s.all ? kind.selectedIds(selection.dto(query())) : [...s.ids];
  };

  // The owners' names: each user a row in view names is looked up once, not all users.
  const userName = createUserNames();

  // Opening a record from elsewhere (an email's party or regarding).
  createEffect(
    on(
      () => props.open,
      async (req) => {
        if (!req) return;
        setError(null);
        try {
          setEditing({ record: await kind.get(req.id) });
        } catch (e) {
          setError(e instanceof ApiError ? e : new ApiError({ kind: "not_found", code: "record.not_found", params: { entity: kind.entity, id: String(req.id) }, message: "" }));
        }
      },
    ),
  );

  async function run(f: () => Promise<unknown>) {
    setError(null);
    try {
      await f();
      selection.clear();
      refetch();
    } catch (e) {
      setError(e);
    }
  }

  async function importFile(input: HTMLInputElement) {
    const file = input.files?.[0];
    if (!file) return;
    setImported(null);
    setImportError(null);
    setImporting(true);
    try {
      const text = await file.text();
      const summary = await kind.importCsv(text);
      setImported(summary.imported);
      refetch();
    } catch (e) {
      setImportError(e);
    } finally {
      setImporting(false);
      input.value = "";
    }
  }

  const columns = (): GridColumn<AnyRecord>[] => [
    {
      key: "name",
      title: fieldLabel(kind.nameLabel),
      width: 240,
      sortable: true,
      render: (r) => (
        <button type="button" class="link" data-testid="record-open" onClick={(e) => { e.stopPropagation(); setEditing({ record: r }); }}>
          {kind.name(r) || t("common.none")}
        </button>
      ),
    },
    ...kind.columns.map((c) => ({ key: c, title: fieldLabel(c), width: c.startsWith("email") ? 260 : 200, sortable: true, render: (r: AnyRecord) => String(r[c] ?? "") })),
    { key: "owner_user_id", title: fieldLabel("owner_user_id"), width: 180, sortable: true, render: (r) => userName(r.owner_user_id) },
    { key: "modified_on", title: t("records.modifiedOn"), width: 180, sortable: true, render: (r) => formatDate(r.modified_on) },
  ];

  return (
    <Show when={editing() === null} fallback={
      <RecordForm kind={kind} record={editing()!.record} ownerName={userName}
        onSaved={() => refetch()} onClose={() => { setEditing(null); refetch(); }} />
    }>
      <section class="page" data-testid={`${kind.entity}s-page`}>
        <header class="page-header">
          <h2 class="page-title">{t(kind.title)}</h2>
          <label class="inline">
            <span class="sr-only">{t("records.view")}</span>
            <select data-testid="record-view" value={view()} onChange={(e) => setView(e.currentTarget.value as "active" | "inactive")}>
              <option value="active" selected={view() === "active"}>{t("records.view.active", { entity: t(kind.title) })}</option>
              <option value="inactive" selected={view() === "inactive"}>{t("records.view.inactive", { entity: t(kind.title) })}</option>
            </select>
          </label>
          <label class="inline">
            <span class="sr-only">{t("records.search")}</span>
            <input type="search" data-testid="record-search" placeholder={t("records.search")} value={searchText()} onInput={(e) => typeSearch(e.currentTarget.value)} />
          </label>
          <span class="muted" data-testid="record-count">
            {tn("records.count", total() ?? 0)} · {tn("mailbox.selected", selection.count())}
          </span>
        </header>
        <div class="commands bar">
          <button type="button" data-testid="record-new" onClick={() => setEditing({ record: null })}>{t("cmd.new")}</button>
          <Show when={view() === "active"} fallback={
            <button type="button" data-testid="record-activate" disabled={!selection.count()} onClick={() => run(async () => kind.setState(await ids(), "active"))}>{t("cmd.activate")}</button>
          }>
            <button type="button" data-testid="record-deactivate" disabled={!selection.count()} onClick={() => run(async () => kind.setState(await ids(), "inactive"))}>{t("cmd.deactivate")}</button>
          </Show>
          <button type="button" data-testid="record-refresh" onClick={() => refetch()}>{t("cmd.refresh")}</button>
          <label class="file-button" classList={{ disabled: importing() }}>
            {t("records.importCsv")}
            <input type="file" accept=".csv,text/csv" data-testid="record-import-file" disabled={importing()}
              onChange={(e) => importFile(e.currentTarget)} />
          </label>
        </div>
        <ErrorBanner error={error()} />
        <Show when={importing()}>
          <div class="banner" role="status" data-testid="record-import-busy">{t("records.importing")}</div>
        </Show>
        <Show when={imported() !== null}>
          <div class="banner ok" role="status" data-testid="record-import-result" data-count={imported()!}>
            {tn("records.imported", imported()!)}
          </div>
        </Show>
        <Show when={importError()}>
          {(e) => (
            <div class="banner error" role="alert" data-testid="record-import-error"
              data-code={e() instanceof ApiError ? (e() as ApiError).dto.code : undefined}
              data-line={e() instanceof ApiError ? (e() as ApiError).dto.params["line"] : undefined}>
              {errorText(e())}
              <Show when={e() instanceof ApiError && (e() as ApiError).dto.detail}>
                <div class="muted small">{(e() as ApiError).dto.detail}</div>
              </Show>
            </div>
          )}
        </Show>
        <VirtualGrid<AnyRecord, number>
          testid={`${kind.entity}-grid`}
          rowTestid={`${kind.entity}-row`}
          label={t(kind.title)}
          count={total() ?? 0}
          row={paged.row}
          rowId={(r) => r.id}
          rowName={(r) => kind.name(r)}
          columns={columns()}
          selectable
          isSelected={selection.isSelected}
          allSelected={selection.selection().all}
          onToggleAll={selection.toggleAll}
          sort={sort()}
          onSort={(key) => setSort({ key: key as RecordSortKey, dir: sort().key === key && sort().dir === "asc" ? "desc" : "asc" })}
          onRowClick={(id, e) => selection.click(id, e)}
          onRowOpen={(id) => {
            const r = paged.find((x) => x.id === id);
            if (r) setEditing({ record: r });
          }}
          onRange={paged.range}
          empty={total() === null ? t("common.loading") : undefined}
        />
      </section>
    </Show>
  );
}

/** The record form: create (nothing saved yet) or edit. The engine validates on Save and its
 * refusal shows next to its field. */
export function RecordForm(props: {
  kind: RecordKind;
  record: AnyRecord | null;
  /** A user's name, looked up in the engine. */
  ownerName: (id: UserId) => string;
  onSaved: (r: AnyRecord) => void;
  onClose: () => void;
}) {
  const [record, setRecord] = createSignal<AnyRecord | null>(props.record);
  const [values, setValues] = createSignal<RecordChanges>(valuesOf(props.kind, props.record));
  const [error, setError] = createSignal<unknown>(null);
  const [notice, setNotice] = createSignal("");
  const [saving, setSaving] = createSignal(false);
  const set = (field: string, v: string | UserId | null) => setValues({ ...values(), [field]: v });
  const formFields = () => [...props.kind.textFields, "owner_user_id"];
  const fieldError = () => {
    const e = error();
    return e instanceof ApiError && e.field !== undefined && formFields().includes(e.field);
  };
  // The owner is chosen among the active users a search finds; the owner now stays a choice
  // even if deactivated.
  const ownerSearch = createOwnerSearch();

  async function save(close: boolean) {
    setError(null);
    setNotice("");
    setSaving(true);
    try {
      const before = record();
      const changes = changesOf(props.kind, before, values());
      const saved = before === null ? await props.kind.create(changes) : await props.kind.update(before.id, changes);
      setRecord(saved);
      setValues(valuesOf(props.kind, saved));
      setNotice(t("common.saved"));
      props.onSaved(saved);
      if (close) props.onClose();
    } catch (e) {
      setError(e);
    } finally {
      setSaving(false);
    }
  }

  return (
    <div class="form" data-testid="record-form" data-entity={props.kind.entity} data-id={record()?.id ?? ""}>
      <header class="form-header">
        <h2 data-testid="record-title">{record() ? props.kind.name(record()!) || t("common.none") : t(props.kind.newTitle)}</h2>
        <span class="muted">
          {optionLabel("entity", props.kind.entity)}
          <Show when={record()}>{(r) => <> · {t(`state.${r().state}`)}</>}</Show>
        </span>
        <div class="commands">
          <button type="button" data-testid="record-save" disabled={saving()} onClick={() => save(false)}>{t("cmd.save")}</button>
          <button type="button" data-testid="record-save-close" disabled={saving()} onClick={() => save(true)}>{t("cmd.saveAndClose")}</button>
          <button type="button" data-testid="record-close" onClick={props.onClose}>{t("cmd.close")}</button>
        </div>
      </header>
      <ErrorBanner error={fieldError() ? null : error()} />
      <Show when={notice()}><div class="banner ok" role="status" data-testid="record-saved">{notice()}</div></Show>
      <fieldset class="section" data-section="general">
        <legend>{t("records.section.general")}</legend>
        <div class="fields">
          <For each={props.kind.textFields}>
            {(f) => (
              <TextField name={f} type={f.startsWith("email_address") ? "email" : "text"} value={(values()[f] as string) ?? ""}
                error={error()} onInput={(v) => set(f, v)} />
            )}
          </For>
          <OwnerFields search={ownerSearch} value={values().owner_user_id ?? null} error={error()} currentName={props.ownerName}
            onChange={(v) => set("owner_user_id", v)} />
        </div>
      </fieldset>
      <Show when={record()}>
        {(r) => (
          <dl class="readonly">
            <dt>{t("records.createdOn")}</dt><dd>{formatDate(r().created_on)}</dd>
            <dt>{t("records.modifiedOn")}</dt><dd>{formatDate(r().modified_on)}</dd>
          </dl>
        )}
      </Show>
    </div>
  );
}
