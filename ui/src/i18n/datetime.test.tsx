import { afterEach, describe, expect, it, vi as mock } from "vitest";
import { cleanup, fireEvent, render, screen } from "@solidjs/testing-library";
import { createSignal } from "solid-js";
import { formatDate, formatRelative, formatSize, setLang, timeZoneName, type Lang } from "./index";
import { datePattern, formatDateTimeInput, formatDayInput, parseDateTimeInput, parseDayInput } from "./datetime";
import { DateField } from "../components/form";

// Local times: the tests hold in whatever time zone they run.
const at = (y: number, mo: number, d: number, h = 0, mi = 0) => new Date(y, mo - 1, d, h, mi).toISOString();

afterEach(() => {
  cleanup();
  setLang("en");
});

describe("dates and times typed in the order of the language", () => {
  const shown: Record<Lang, string> = { en: "12/02/2026 12:30", fr: "02/12/2026 12:30", ja: "2026/12/02 12:30", vi: "12:30 02/12/2026" };

  for (const [l, text] of Object.entries(shown) as [Lang, string][]) {
    it(`shows and reads back a local date and time in ${l}`, () => {
      const iso = at(2026, 12, 2, 12, 30);
      expect(formatDateTimeInput(iso, l)).toBe(text);
      expect(parseDateTimeInput(text, l)).toBe(iso);
      // Round trips over a year's days and hours (as text: an hour a clock repeats when summer
      // time ends is one text for two instants).
      for (let d = new Date(2026, 0, 1, 0, 5); d.getFullYear() === 2026; d = new Date(d.getTime() + 37 * 3_600_000 + 60_000)) {
        const typed = formatDateTimeInput(d.toISOString(), l);
        expect(formatDateTimeInput(parseDateTimeInput(typed, l), l)).toBe(typed);
      }
    });
  }

  it("takes the separators / . - and spaces, one-digit parts, seconds, and Intl's own order", () => {
    expect(parseDateTimeInput("2.12.2026 9:05", "fr")).toBe(at(2026, 12, 2, 9, 5));
    expect(parseDateTimeInput("02-12-2026 09:05", "fr")).toBe(at(2026, 12, 2, 9, 5));
    expect(parseDateTimeInput(" 02 12 2026   09:05 ", "fr")).toBe(at(2026, 12, 2, 9, 5));
    expect(parseDateTimeInput("12/2/2026, 23:59:30", "en")).toBe(new Date(2026, 11, 2, 23, 59, 30).toISOString());
    expect(parseDateTimeInput("2026-12-02 00:00", "ja")).toBe(at(2026, 12, 2));
    expect(parseDateTimeInput("2026年12月2日 8:00", "ja")).toBe(at(2026, 12, 2, 8));
    expect(parseDateTimeInput("02/12/2026 12:30", "vi")).toBe(at(2026, 12, 2, 12, 30));
    expect(parseDateTimeInput("02/12/2026", "fr")).toBe(at(2026, 12, 2)); // no time: midnight
    expect(parseDateTimeInput("", "fr")).toBe("");
  });

  it("refuses what is not a date and time", () => {
    for (const [l, text] of [
      ["fr", "31/02/2026 10:00"], // no 31 February
      ["en", "02/29/2026 10:00"], // 2026 is not a leap year
      ["fr", "02/12/2026 25:00"],
      ["fr", "02/12/2026 24:00"],
      ["fr", "02/12/2026 10:60"],
      ["en", "13/02/2026 10:00"], // no month 13
      ["ja", "2026/00/10 10:00"],
      ["fr", "02/12/26 10:00"], // the year has its four digits
      ["fr", "abc"],
      ["en", "12/02/2026 noon"],
      ["fr", "02/12/2026 10:00 extra"],
      ["ja", "2026/12"],
    ] as [Lang, string][]) {
      expect(parseDateTimeInput(text, l), `${l}: ${text}`).toBeNull();
    }
    expect(parseDateTimeInput("02/29/2028 10:00", "en")).toBe(at(2028, 2, 29, 10));
  });

  it("reads calendar days the same way", () => {
    expect(formatDayInput("2026-12-02", "fr")).toBe("02/12/2026");
    expect(formatDayInput("2026-12-02", "ja")).toBe("2026/12/02");
    expect(formatDayInput("2026-12-02", "en")).toBe("12/02/2026");
    expect(formatDayInput("2026-12-02", "vi")).toBe("02/12/2026");
    expect(parseDayInput("2/12/2026", "fr")).toBe("2026-12-02");
    expect(parseDayInput("12/2/2026", "en")).toBe("2026-12-02");
    expect(parseDayInput("2026.12.2", "ja")).toBe("2026-12-02");
    expect(parseDayInput("31/04/2026", "vi")).toBeNull();
    expect(parseDayInput("02/12/2026 10:00", "fr")).toBeNull();
    expect(parseDayInput("", "fr")).toBe("");
  });

  it("shows the pattern it expects in the words of the language", () => {
    const patterns: Record<Lang, string> = { en: "MM/DD/YYYY hh:mm", fr: "JJ/MM/AAAA hh:mm", ja: "YYYY/MM/DD hh:mm", vi: "hh:mm dd/mm/yyyy" };
    for (const [l, p] of Object.entries(patterns) as [Lang, string][]) {
      setLang(l);
      expect(datePattern(false, l)).toBe(p);
    }
    setLang("fr");
    expect(datePattern(true, "fr")).toBe("JJ/MM/AAAA");
  });
});

describe("dates, sizes and times ago through Intl", () => {
  it("writes a date and time as the language does", () => {
    const iso = at(2026, 12, 2, 12, 30);
    expect(formatDate(iso, "ja")).toBe("2026/12/02 12:30");
    expect(formatDate(iso, "fr")).toBe("02/12/2026 12:30");
    expect(formatDate(iso, "en")).toMatch(/^12\/02\/2026,? 12:30\sPM$/);
    expect(formatDate(null)).toBe("");
  });

  it("says how long ago", () => {
    const now = Date.parse("2026-12-04T12:00:00Z");
    expect(formatRelative("2026-12-04T11:57:00Z", now, "en")).toBe("3 minutes ago");
    expect(formatRelative("2026-12-04T11:57:00Z", now, "fr")).toBe("il y a 3 minutes");
    expect(formatRelative("2026-12-04T11:57:00Z", now, "ja")).toBe("3 分前");
    expect(formatRelative("2026-12-04T11:57:00Z", now, "vi")).toBe("3 phút trước");
    expect(formatRelative("2026-12-04T12:00:40Z", now, "en")).toBe("in 40 seconds");
    expect(formatRelative("2026-12-01T12:00:00Z", now, "en")).toBe("3 days ago");
    expect(formatRelative("2025-11-04T12:00:00Z", now, "en")).toBe("last year");
    expect(formatRelative(null, now)).toBe("");
  });

  it("writes sizes with the language's units and decimal mark", () => {
    expect(formatSize(512, "en")).toBe("512 bytes");
    expect(formatSize(1, "en")).toBe("1 byte");
    expect(formatSize(512, "fr")).toMatch(/^512\soctets$/);
    expect(formatSize(1536, "en")).toBe("1.5 kB");
    expect(formatSize(1536, "fr")).toMatch(/^1,5\sko$/);
    expect(formatSize(5 * 1024 * 1024, "ja")).toBe("5 MB");
    expect(formatSize(3 * 1024 ** 3, "vi")).toBe("3 GB");
  });
});

describe("the date field", () => {
  function renderField(value: string | null) {
    const onInput = mock.fn();
    const [v, setV] = createSignal<string | null>(value);
    render(() => <DateField name="process_email_from" value={v()} onInput={(x) => { onInput(x); setV(x); }} />);
    return { onInput, input: screen.getByTestId("date-process_email_from") as HTMLInputElement, value: v };
  }

  it("shows the value in the language's order with the time zone, and hands back what is typed as UTC", () => {
    setLang("fr");
    const { onInput, input, value } = renderField(at(2026, 12, 2, 12, 30));
    expect(input.value).toBe("02/12/2026 12:30");
    expect(input.placeholder).toBe("JJ/MM/AAAA hh:mm");
    expect(document.querySelector(`label[for="${input.id}"]`)!.textContent).toBe("Traiter les e-mails à partir de");
    expect(screen.getByTestId("tz-process_email_from").textContent).toBe(`Fuseau horaire : ${timeZoneName(new Date(2026, 11, 2, 12, 30), "fr")}`);
    fireEvent.input(input, { target: { value: "24/12/2026 09:30" } });
    expect(onInput).toHaveBeenLastCalledWith(at(2026, 12, 24, 9, 30));
    expect(value()).toBe(at(2026, 12, 24, 9, 30));
    fireEvent.input(input, { target: { value: "" } });
    expect(onInput).toHaveBeenLastCalledWith(null);
  });

  it("says when what is typed is not a date, and keeps the value", () => {
    setLang("ja");
    const { onInput, input } = renderField(null);
    expect(input.placeholder).toBe("YYYY/MM/DD hh:mm");
    for (const text of ["2026/02/31 10:00", "2026/12/02 25:00", "tomorrow"]) {
      fireEvent.input(input, { target: { value: text } });
      fireEvent.change(input);
      const error = screen.getByTestId("date-error-process_email_from");
      expect(error.getAttribute("role")).toBe("alert");
      expect(error.textContent).toContain("YYYY/MM/DD hh:mm");
      expect(input.getAttribute("aria-invalid")).toBe("true");
      expect(input.getAttribute("aria-describedby")).toContain(error.id);
    }
    expect(onInput).not.toHaveBeenCalled();
    fireEvent.input(input, { target: { value: "2026/12/2 8:05" } });
    expect(screen.queryByTestId("date-error-process_email_from")).toBeNull();
    expect(onInput).toHaveBeenLastCalledWith(at(2026, 12, 2, 8, 5));
    fireEvent.change(input);
    expect(input.value).toBe("2026/12/02 08:05");
  });

  it("follows the language chosen", () => {
    setLang("en");
    const { input } = renderField(at(2026, 12, 2, 12, 30));
    expect(input.value).toBe("12/02/2026 12:30");
    setLang("vi");
    expect(input.value).toBe("12:30 02/12/2026");
    expect(input.placeholder).toBe("hh:mm dd/mm/yyyy");
  });
});
