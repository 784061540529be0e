import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@solidjs/testing-library";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { ProfilesPage } from "./ProfilesPage";
import { setLang } from "../../i18n";

let active: unknown[];
let inactive: unknown[];
let drafts: string[];

beforeEach(() => {
  setLang("en");
  active = [];
  inactive = [];
  drafts = [];
  mockIPC((cmd, args) => {
    const a = args as Record<string, unknown>;
    if (cmd === "list_profiles") return a.view === "active" ? active : inactive;
    if (cmd === "get_settings") return { id: 1, default_profile_id: null };
    if (cmd === "new_profile_draft") {
      drafts.push(a.serverType as string);
      return new Promise(() => {}); // the form stays loading: only the type asked for matters here
    }
    if (cmd === "form_catalog") return new Promise(() => {});
    if (cmd === "profile_form_fields") return new Promise(() => {});
    throw new Error(`unexpected command ${cmd}`);
  });
});

afterEach(() => {
  cleanup();
  clearMocks();
});

describe("Email Server Profiles, first run", () => {
  it("explains what a profile is and offers the four kinds when there is none", async () => {
    render(() => <ProfilesPage />);
    const empty = await waitFor(() => screen.getByTestId("profiles-empty"));
    expect(empty.textContent).toContain("connection settings and credentials that mailboxes use to reach Exchange Online, Exchange Server");
    expect(screen.queryByTestId("profiles-grid")).toBeNull();
    const kinds = ["exchange_online", "exchange_server", "imap_smtp", "pop3_smtp"];
    for (const k of kinds) expect(screen.getByTestId(`empty-new-${k}`)).toBeTruthy();
    expect(screen.getByTestId("empty-new-imap_smtp").textContent).toBe("IMAP/SMTP Server");
    fireEvent.click(screen.getByTestId("empty-new-pop3_smtp"));
    await waitFor(() => expect(drafts).toEqual(["pop3_smtp"]));
    expect(screen.queryByTestId("profiles-page")).toBeNull();
  });

  it("shows the grid once a profile exists, and the plain empty grid for no inactive profile", async () => {
    active = [{ id: 1, name: "Contoso", server_type: "imap_smtp", state: "active" }];
    render(() => <ProfilesPage />);
    await waitFor(() => expect(screen.getAllByTestId("profile-row")).toHaveLength(1));
    expect(screen.queryByTestId("profiles-empty")).toBeNull();
    const view = screen.getByTestId("profile-view") as HTMLSelectElement;
    view.value = "inactive";
    fireEvent.change(view);
    await waitFor(() => expect(screen.getByTestId("profiles-grid").textContent).toContain("No records to show."));
    expect(screen.queryByTestId("profiles-empty")).toBeNull();
  });
});

describe("Email Server Profiles, delete", () => {
  it("asks before deleting a profile, says what its mailboxes lose, and starts on Cancel", async () => {
    active = [{ id: 1, name: "Contoso", server_type: "imap_smtp", state: "active" }];
    const deleted: unknown[] = [];
    mockIPC((cmd, args) => {
      const a = args as Record<string, unknown>;
      if (cmd === "list_profiles") return a.view === "active" ? active : inactive;
      if (cmd === "get_settings") return { id: 1, default_profile_id: null };
      if (cmd === "delete_profile") {
        deleted.push(a.id);
        active = [];
        return null;
      }
      throw new Error(`unexpected command ${cmd}`);
    });
    render(() => <ProfilesPage />);
    fireEvent.click((await screen.findAllByTestId("profile-row"))[0]);
    fireEvent.click(screen.getByTestId("profile-delete"));
    const confirm = await screen.findByTestId("dialog-delete-profile");
    expect(confirm.getAttribute("role")).toBe("alertdialog");
    // Modal: the rest of the window waits for the answer.
    await waitFor(() => expect((confirm as HTMLDialogElement).open).toBe(true));
    expect(confirm.getAttribute("aria-modal")).toBe("true");
    expect(confirm.textContent).toContain("Delete the profile Contoso? Its mailboxes are left without a profile");
    await waitFor(() => expect(document.activeElement?.textContent).toBe("Cancel"));
    // Tab stays in it: past Cancel (its last control) it comes back to Delete, and Shift+Tab on
    // Delete goes to Cancel.
    const ok = confirm.querySelector<HTMLElement>('[data-testid="dialog-ok"]')!;
    const cancel = document.activeElement as HTMLElement;
    fireEvent.keyDown(cancel, { key: "Tab" });
    expect(document.activeElement).toBe(ok);
    fireEvent.keyDown(ok, { key: "Tab", shiftKey: true });
    expect(document.activeElement).toBe(cancel);
    fireEvent.keyDown(document.activeElement!, { key: "Escape" });
    expect(screen.queryByTestId("dialog-delete-profile")).toBeNull();
    expect(deleted).toEqual([]);
    // The browser's own Escape (its `cancel` event) closes it the same way.
    fireEvent.click(screen.getByTestId("profile-delete"));
    fireEvent(await screen.findByTestId("dialog-delete-profile"), new Event("cancel", { cancelable: true }));
    expect(screen.queryByTestId("dialog-delete-profile")).toBeNull();
    expect(deleted).toEqual([]);
    fireEvent.click(screen.getByTestId("profile-delete"));
    fireEvent.click((await screen.findByTestId("dialog-delete-profile")).querySelector('[data-testid="dialog-ok"]')!);
    await waitFor(() => expect(deleted).toEqual([1]));
    await screen.findByTestId("profiles-empty");
    // Delete is disabled now: the focus is on New, not lost.
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId("profile-new")));
  });
});
