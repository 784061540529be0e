// The names of records a page shows by id (a row's owner, who accepted a message): each id is
// read from the engine once, when first shown, instead of reading every user or queue.
import { createSignal } from "solid-js";
import { api, call, type MailboxId, type QueueId, type UserId } from "../api";

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

/** Users', queues' and mailboxes' names, by id. */
export const createUserNames = () => createNameLookup<UserId>(async (id) => (await call(api.getUser(id))).full_name);
export const createQueueNames = () => createNameLookup<QueueId>(async (id) => (await call(api.getQueue(id))).name);
export const createMailboxNames = () => createNameLookup<MailboxId>(async (id) => (await call(api.getMailbox(id))).name);
