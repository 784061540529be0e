import { describe, expect, it } from "vitest";
import { en } from "./en";
import { fr } from "./fr";
import { ja } from "./ja";
import { vi } from "./vi";
import enCodes from "../../../engine/i18n/en.json";
import { fieldLabel, msg, setLang, systemLang, tn } from "./index";

describe("dictionaries", () => {
  it("every language has every key of English, and no other", () => {
    const keys = Object.keys(en).sort();
    for (const [name, d] of Object.entries({ fr, ja, vi })) {
      expect(Object.keys(d).sort(), name).toEqual(keys);
      for (const k of keys) expect((d as Record<string, string>)[k], `${name}: ${k}`).not.toBe("");
    }
  });
  it("placeholders survive translation", () => {
    const ph = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort().join();
    for (const d of [fr, ja, vi]) for (const k of Object.keys(en) as (keyof typeof en)[]) expect(ph(d[k]), k).toBe(ph(en[k]));
  });
  it("every word that counts has both forms in every language", () => {
    for (const d of [en, fr, ja, vi] as Record<string, string>[]) {
      for (const k of Object.keys(d)) {
        if (k.endsWith(".one")) expect(d[`${k.slice(0, -4)}.other`], k).toBeDefined();
        if (k.endsWith(".other")) expect(d[`${k.slice(0, -6)}.one`], k).toBeDefined();
      }
    }
  });
  it("counts take the form their language gives the number", () => {
    setLang("en");
    expect([0, 1, 2, 100000].map((n) => tn("mailbox.count", n))).toEqual(["0 mailboxes", "1 mailbox", "2 mailboxes", "100,000 mailboxes"]);
    setLang("fr");
    // French counts 0 and 1 as singular.
    expect([0, 1, 2].map((n) => tn("mailbox.count", n))).toEqual(["0 boîte aux lettres", "1 boîte aux lettres", "2 boîtes aux lettres"]);
    expect(tn("records.imported", 1)).toBe("1 enregistrement importé.");
    expect(tn("records.imported", 1500)).toBe("1\u202f500 enregistrements importés.");
    setLang("ja");
    expect(tn("mailbox.count", 1)).toBe("1 個のメールボックス");
    setLang("en");
  });
  it("the system language is chosen when it is one of ours", () => {
    expect(systemLang(["ja-JP", "en-US"])).toBe("ja");
    expect(systemLang(["de-DE", "vi-VN"])).toBe("vi");
    expect(systemLang(["de-DE"])).toBe("en");
  });
  it("engine codes are worded with labels for field parameters", () => {
    setLang("en");
    expect(msg("field.too_long", { field: "name", max: "100" })).toBe("Name can be at most 100 characters long.");
    expect(fieldLabel("process_email_from")).toBe((enCodes as Record<string, string>)["label.field.process_email_from"]);
    expect(msg("no.such.code")).toBe("no.such.code");
  });
});
