// A search box's text and the search it stands for: the search follows the text 150 ms after the
// last key, so a grid is not read again for every letter typed.
import { createSignal, onCleanup } from "solid-js";

export const SEARCH_PAUSE_MS = 150;

export function createDebounced(initial = "") {
  const [text, setText] = createSignal(initial);
  const [value, setValue] = createSignal(initial);
  let timer: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(timer));
  return {
    /** What is typed. */
    text,
    /** The search: the text, once typing pauses. */
    value,
    input(v: string) {
      setText(v);
      clearTimeout(timer);
      timer = setTimeout(() => setValue(v), SEARCH_PAUSE_MS);
    },
    /** The text, searched now (Enter). */
    now(v: string) {
      clearTimeout(timer);
      setText(v);
      setValue(v);
    },
    clear() {
      this.now("");
    },
  };
}
