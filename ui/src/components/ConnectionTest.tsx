// Test Connection's result: each step the engine ran (incoming, then outgoing) with its outcome,
// duration and what it found, and a Failure Details box for the step that failed.
import { For, Show } from "solid-js";
import type { ConnectionTest_Serialize, Step } from "../api";
import { formatNumber, msg, optionLabel, t } from "../i18n";

export function ConnectionTestPanel(props: { result: ConnectionTest_Serialize | null; running: boolean }) {
  const failed = (): Step | undefined => props.result?.steps.find((s) => s.outcome === "failure");
  // The engine records whether the profile's own credentials were tried (null: it has none).
  const signedIn = () => (props.result?.profile.last_authorization_status ?? null) !== null;
  return (
    <section class="connection-test" data-testid="connection-test" aria-live="polite">
      <h3>{t("connTest.title")}</h3>
      <Show when={props.running}>
        <p class="muted">{t("connTest.running")}</p>
      </Show>
      <Show when={props.result}>
        {(r) => (
          <>
            <p class={r().status === "success" ? "banner ok" : "banner error"} data-testid="connection-test-status" data-status={r().status}>
              {t(`connTest.result.${r().status}`)}
            </p>
            <table class="grid steps">
              <thead>
                <tr>
                  <th>{t("connTest.direction")}</th>
                  <th>{t("connTest.step")}</th>
                  <th>{t("connTest.outcome")}</th>
                  <th>{t("connTest.duration")}</th>
                  <th>{t("connTest.found")}</th>
                </tr>
              </thead>
              <tbody>
                <For each={r().steps}>
                  {(s) => (
                    <tr data-step={`${s.direction}.${s.kind}`} data-outcome={s.outcome}>
                      <td>{optionLabel("direction", s.direction)}</td>
                      <td>{optionLabel("step", s.kind)}</td>
                      <td class={s.outcome}>{t(`outcome.${s.outcome}`)}</td>
                      <td class="num">{formatNumber(s.duration_ms)}</td>
                      <td>{s.outcome === "failure" ? msg(s.error_code, s.error_params) : s.info}</td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
            <Show when={!failed() && !signedIn()}>
              <p class="muted" data-testid="connection-test-no-sign-in">{t("connTest.noSignIn")}</p>
            </Show>
            <Show when={failed()}>
              {(f) => (
                <div class="failure-details" data-testid="connection-test-failure" data-code={f().error_code}>
                  <h4>{t("connTest.details")}</h4>
                  <p>{msg(f().error_code, f().error_params)}</p>
                  <Show when={f().error_detail}>
                    <pre>{f().error_detail}</pre>
                  </Show>
                </div>
              )}
            </Show>
          </>
        )}
      </Show>
    </section>
  );
}
