// The form catalog: the choices and numeric bounds the forms offer, read once from the engine so
// that no page copies an option list or a range.
import { createResource, type Resource } from "solid-js";
import { api, type FieldBounds, type FormCatalog } from ".";

let cached: Promise<FormCatalog> | null = null;

/** The catalog, asked of the engine once per window. */
export function formCatalog(): Promise<FormCatalog> {
  cached ??= api.formCatalog();
  return cached;
}

/** The catalog as a Solid resource (undefined until it has arrived). */
export function useCatalog(): Resource<FormCatalog> {
  const [catalog] = createResource(formCatalog);
  return catalog;
}

/** The bounds of `field` in `list`, if it has any. */
export function boundsOf(list: readonly FieldBounds[] | undefined, field: string): FieldBounds | undefined {
  return list?.find((b) => b.field === field);
}
