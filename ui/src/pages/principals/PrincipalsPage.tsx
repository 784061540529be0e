// Users & Queues: each has a mailbox, created with it.
import { For, createResource, createSignal } from "solid-js";
import { api, call, type MailboxId, type PrincipalView, type UserId } from "../../api";
import { CheckField, ErrorBanner, Section, SelectField, TextField } from "../../components/form";
import { t } from "../../i18n";

export function PrincipalsPage(props: { onOpenMailbox?: (id: MailboxId) => void }) {
  const [view, setView] = createSignal<PrincipalView>("active");
  const [users, { refetch: refetchUsers }] = createResource(view, (v) => call(api.listUsers(v)));
  const [queues, { refetch: refetchQueues }] = createResource(view, (v) => call(api.listQueues(v)));
  const [error, setError] = createSignal<unknown>(null);
  const [user, setUser] = createSignal({ full_name: "", primary_email: "", can_approve_email: false });
  const [queue, setQueue] = createSignal<{ name: string; email_address: string; owner_user_id: UserId | null }>({ name: "", email_address: "", owner_user_id: null });

  async function run(f: () => Promise<unknown>) {
    setError(null);
    try {
      await f();
      refetchUsers();
      refetchQueues();
    } catch (e) {
      setError(e);
    }
  }

  return (
    <section class="page" data-testid="principals-page">
      <header class="page-header">
        <select aria-label={t("records.view")} value={view()} onChange={(e) => setView(e.currentTarget.value as PrincipalView)}>
          <option value="active">{t("view.active")}</option>
          <option value="inactive">{t("view.inactive")}</option>
        </select>
      </header>
      <ErrorBanner error={error()} />
      <div class="two-columns">
        <div>
          <Section title={t("cmd.newUser")} id="new-user">
            <TextField name="full_name" label={t("users.fullName")} value={user().full_name} error={error()} onInput={(v) => setUser({ ...user(), full_name: v })} />
            <TextField name="primary_email" label={t("users.primaryEmail")} value={user().primary_email} error={error()} onInput={(v) => setUser({ ...user(), primary_email: v })} />
            <CheckField name="can_approve_email" label={t("users.canApprove")} value={user().can_approve_email} onChange={(v) => setUser({ ...user(), can_approve_email: v })} />
            <button type="button" data-testid="user-create" onClick={() => run(async () => {
              await call(api.createUser({ ...user(), incoming_filtering_method: null }));
              setUser({ full_name: "", primary_email: "", can_approve_email: false });
            })}>{t("cmd.save")}</button>
          </Section>
          <h3>{t("users.title")}</h3>
          <table class="grid" data-testid="users-grid">
            <thead><tr><th>{t("users.fullName")}</th><th>{t("users.primaryEmail")}</th><th>{t("common.state")}</th><th></th></tr></thead>
            <tbody>
              <For each={users() ?? []}>
                {(u) => (
                  <tr data-testid="user-row" data-name={u.full_name}>
                    <td>{u.full_name}</td>
                    <td>{u.primary_email}</td>
                    <td>{t(`state.${u.state}`)}</td>
                    <td>
                      <button type="button" onClick={() => run(() => call(api.setUserState([u.id], u.state === "active" ? "inactive" : "active")))}>
                        {u.state === "active" ? t("cmd.deactivate") : t("cmd.activate")}
                      </button>
                      <button type="button" disabled={u.mailbox_id === null} onClick={() => u.mailbox_id !== null && props.onOpenMailbox?.(u.mailbox_id)}>{t("common.mailbox")}</button>
                    </td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </div>
        <div>
          <Section title={t("cmd.newQueue")} id="new-queue">
            <TextField name="name" label={t("queues.name")} value={queue().name} error={error()} onInput={(v) => setQueue({ ...queue(), name: v })} />
            <TextField name="email_address" label={t("queues.email")} value={queue().email_address} error={error()} onInput={(v) => setQueue({ ...queue(), email_address: v })} />
            <SelectField name="owner_user_id" label={t("queues.owner")} value={queue().owner_user_id} allowNone="—"
              options={(users() ?? []).map((u) => ({ value: u.id, label: u.full_name }))} onChange={(v) => setQueue({ ...queue(), owner_user_id: v })} />
            <button type="button" data-testid="queue-create" onClick={() => run(async () => {
              await call(api.createQueue({ ...queue(), incoming_filtering_method: null }));
              setQueue({ name: "", email_address: "", owner_user_id: null });
            })}>{t("cmd.save")}</button>
          </Section>
          <h3>{t("queues.title")}</h3>
          <table class="grid" data-testid="queues-grid">
            <thead><tr><th>{t("queues.name")}</th><th>{t("queues.email")}</th><th>{t("common.state")}</th><th></th></tr></thead>
            <tbody>
              <For each={queues() ?? []}>
                {(q) => (
                  <tr data-testid="queue-row">
                    <td>{q.name}</td>
                    <td>{q.email_address}</td>
                    <td>{t(`state.${q.state}`)}</td>
                    <td>
                      <button type="button" onClick={() => run(() => call(api.setQueueState([q.id], q.state === "active" ? "inactive" : "active")))}>
                        {q.state === "active" ? t("cmd.deactivate") : t("cmd.activate")}
                      </button>
                    </td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </div>
      </div>
    </section>
  );
}
