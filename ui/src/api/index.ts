// The only place that talks to the desktop shell. Pages call `call(api.x(...))`: the value, or an
// ApiError carrying the engine's {code, params} for the page to word in the user's language.
import { commands } from "../bindings";
import type { ErrorDto_Serialize } from "../bindings";

export * from "../bindings";
export const api = commands;

/** An id read back from a form control or storage (a select's value is a string): typed as the
 * entity's id; the engine still checks that the record exists. */
export function idFrom<T extends number>(raw: string | number): T {
  return Number(raw) as T;
}

export class ApiError extends Error {
  constructor(public readonly dto: ErrorDto_Serialize) {
    super(dto.message);
  }
  /** The form field the error is about, if any. */
  get field(): string | undefined {
    return this.dto.params["field"];
  }
}

type Outcome<T> = { status: "ok"; data: T } | { status: "error"; error: ErrorDto_Serialize };

export async function call<T>(p: Promise<Outcome<T>>): Promise<T> {
  const r = await p;
  if (r.status === "error") throw new ApiError(r.error);
  return r.data;
}
