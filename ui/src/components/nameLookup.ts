// The names of records a page shows by id (a row's owner, who accepted a message): each id is
// read from the engine once, when first shown, instead of reading every user or queue.
import { createSignal } from "solid-js";

/** `name(id)` is "" until the engine answers, then the record's name (`#id` if it cannot be
 * read, say it was deleted). */
export function createNameLookup<Id extends number>(read: (id: Id) => Promise<string>) {
  const [names, setNames] = createSignal(new Map<Id, string>());
  const asked = new Set<Id>();
  return (id: Id | null): string => {
    if (id === null) return "";
    if (!asked.has(id)) {
      asked.add(id);
      read(id).then(
        (name) => setNames((m) => new Map(m).set(id, name)),
        () => setNames((m) => new Map(m).set(id, `#${id}`)),
      );
    }
    return names().get(id) ?? "";
  };
}
