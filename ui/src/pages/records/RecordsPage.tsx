// Contacts, Accounts, Leads: Active / Inactive views in a virtualised grid, New and the record
// form, Activate / Deactivate of the selected rows, and Import from CSV (all rows or none).
import { For, Show, createEffect, createMemo, createResource, createSignal, on } from "solid-js";
import { ApiError, type PrincipalView, type User_Serialize, type UserId } from "../../api";
import { api, call } from "../../api";
import { ErrorBanner, SelectField, TextField, errorText } from "../../components/form";
import { VirtualGrid, type GridColumn } from "../../components/VirtualGrid";
import { fieldLabel, formatDate, formatNumber, lang, optionLabel, t } from "../../i18n";
import { clickSelect, prune, toggleAll, type SortDir } from "../mailboxes/selection";
import { KINDS, changesOf, valuesOf, type AnyRecord, type RecordChanges, type RecordEntity, type RecordKind } from "./kinds";

/** A request to open one record (a new object each time, so the same record can be opened twice). */
export type OpenRequest = { id: number } | null;

export function RecordsPage(props: { entity: RecordEntity; open?: OpenRequest }) {
  // Each entity has its own page instance (App renders one per page id).
  const kind = KINDS[props.entity];
  const [view, setView] = createSignal<Exclude<PrincipalView, "all">>("active");
  const [search, setSearch] = createSignal("");
  const [selected, setSelected] = createSignal<Set<number>>(new Set());
  const [anchor, setAnchor] = createSignal<number | null>(null);
  const [sort, setSort] = createSignal<{ key: string; dir: SortDir }>({ key: "name", dir: "asc" });
  const [editing, setEditing] = createSignal<{ record: AnyRecord | null } | null>(null);
  const [error, setError] = createSignal<unknown>(null);
  const [imported, setImported] = createSignal<number | null>(null);
  const [importError, setImportError] = createSignal<unknown>(null);
  const [importing, setImporting] = createSignal(false);

  const [records, { refetch }] = createResource(view, (v) => kind.list(v));
  const [users] = createResource(() => call(api.listUsers("all")));
  const userName = (id: UserId | null) => (id === null ? "" : users()?.find((u) => u.id === id)?.full_name ?? `#${id}`);

  const valueOf = (r: AnyRecord, key: string): string =>
    key === "name" ? kind.name(r) : key === "owner_user_id" ? userName(r.owner_user_id) : String(r[key] ?? "");
  const rows = createMemo(() => {
    const q = search().trim().toLocaleLowerCase(lang());
    const list = (records() ?? []).filter(
      (r) => !q || [kind.name(r), r.email_address_1, r.email_address_2, r.email_address_3].some((v) => v.toLocaleLowerCase(lang()).includes(q)),
    );
    const { key, dir } = sort();
    const collator = new Intl.Collator(lang(), { numeric: true });
    const sign = dir === "asc" ? 1 : -1;
    const keyed = list.map((r) => [valueOf(r, key), r] as const);
    keyed.sort((a, b) => (a[0] === b[0] ? a[1].id - b[1].id : a[0] === "" ? 1 : b[0] === "" ? -1 : collator.compare(a[0], b[0]) * sign));
    return keyed.map(([, r]) => r);
  });
  const order = createMemo(() => rows().map((r) => r.id));
  const ids = () => [...prune(selected(), order())];

  // Opening a record from elsewhere (an email's party or regarding): find it in any view.
  createEffect(
    on(
      () => props.open,
      async (req) => {
        if (!req) return;
        setError(null);
        try {
          const found = (await kind.list("all")).find((r) => r.id === req.id);
          if (found) setEditing({ record: found });
          else throw new ApiError({ kind: "not_found", code: "record.not_found", params: { entity: kind.entity, id: String(req.id) }, message: "" });
        } catch (e) {
          setError(e);
        }
      },
    ),
  );

  async function run(f: () => Promise<unknown>) {
    setError(null);
    try {
      await f();
      setSelected(new Set<number>());
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
      <RecordForm kind={kind} record={editing()!.record} users={users() ?? []}
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
            <input type="search" data-testid="record-search" placeholder={t("records.search")} value={search()} onInput={(e) => setSearch(e.currentTarget.value)} />
          </label>
          <span class="muted" data-testid="record-count">
            {t("records.count", { count: formatNumber(rows().length) })} · {t("mailbox.selected", { count: formatNumber(ids().length) })}
          </span>
        </header>
        <div class="commands bar">
          <button type="button" data-testid="record-new" onClick={() => setEditing({ record: null })}>{t("cmd.new")}</button>
          <Show when={view() === "active"} fallback={
            <button type="button" data-testid="record-activate" disabled={!ids().length} onClick={() => run(() => kind.setState(ids(), "active"))}>{t("cmd.activate")}</button>
          }>
            <button type="button" data-testid="record-deactivate" disabled={!ids().length} onClick={() => run(() => kind.setState(ids(), "inactive"))}>{t("cmd.deactivate")}</button>
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
            {imported() === 1 ? t("records.imported.one") : t("records.imported.other", { count: formatNumber(imported()!) })}
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
        <Show when={records.error}>
          <ErrorBanner error={records.error} />
        </Show>
        <VirtualGrid<AnyRecord, number>
          testid={`${kind.entity}-grid`}
          rowTestid={`${kind.entity}-row`}
          label={t(kind.title)}
          count={rows().length}
          row={(i) => rows()[i]}
          rowId={(r) => r.id}
          rowName={(r) => kind.name(r)}
          columns={columns()}
          selectable
          selected={selected()}
          allSelected={order().length > 0 && order().every((id) => selected().has(id))}
          onToggleAll={() => setSelected(toggleAll(selected(), order()))}
          sort={sort()}
          onSort={(key) => setSort({ key, dir: sort().key === key && sort().dir === "asc" ? "desc" : "asc" })}
          onRowClick={(id, e) => {
            setSelected(clickSelect(selected(), order(), id, anchor(), { ctrl: e.ctrlKey || e.metaKey, shift: e.shiftKey }));
            if (!e.shiftKey) setAnchor(id);
          }}
          onRowOpen={(id) => {
            const r = rows().find((x) => x.id === id);
            if (r) setEditing({ record: r });
          }}
        />
      </section>
    </Show>
  );
}

/** The record form: create (nothing saved yet) or edit. The engine validates on Save and its
 * refusal shows next to its field. */
export function RecordForm(props: { kind: RecordKind; record: AnyRecord | null; users: User_Serialize[]; onSaved: (r: AnyRecord) => void; onClose: () => void }) {
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
  // The owner choices: active users, and the current owner even if deactivated.
  const owners = () =>
    props.users
      .filter((u) => u.state === "active" || u.id === record()?.owner_user_id)
      .map((u) => ({ value: u.id, label: u.full_name }));

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
          <SelectField name="owner_user_id" value={values().owner_user_id ?? null} error={error()} allowNone={t("common.none")}
            options={owners()} onChange={(v) => set("owner_user_id", v)} />
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
