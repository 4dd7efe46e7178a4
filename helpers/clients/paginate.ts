import { z } from "zod";
import type { HttpClient, Query } from "../core/http.ts";

const linksSchema = z.array(z.looseObject({ rel: z.string(), href: z.string() })).optional();

/**
 * Every page of a list. Nova and Cinder link the next page in `<key>_links` (rel next), Glance in `next`.
 * NOTE: an empty page ends the walk even when the API still links a next one.
 */
export async function paginate<T>(http: HttpClient, path: string, key: string, item: z.ZodType<T>, query: Query = {}): Promise<T[]> {
  const schema = z.looseObject({ [key]: z.array(item), [`${key}_links`]: linksSchema, next: z.string().optional() });
  type Page = { items: T[]; next?: string };
  const read = (data: Record<string, unknown>): Page => ({
    items: data[key] as T[],
    next: (data[`${key}_links`] as z.infer<typeof linksSchema>)?.find((l) => l.rel === "next")?.href ?? (data.next as string | undefined),
  });
  let page = read((await http.request("GET", path, { expect: 200, query, schema })).data);
  const out = [...page.items];
  while (page.next && page.items.length > 0) {
    page = read((await http.request("GET", page.next, { expect: 200, schema })).data);
    out.push(...page.items);
  }
  return out;
}
