import { z } from "zod";

export const versionsSchema = z.looseObject({
  versions: z.array(
    z.looseObject({
      id: z.string(),
      status: z.string().optional(),
      version: z.string().optional(),
      min_version: z.string().optional(),
    }),
  ),
});
export type Versions = z.infer<typeof versionsSchema>;

function parts(v: string): [number, number] {
  const m = /^(\d+)\.(\d+)$/.exec(v.trim());
  if (!m) throw new Error(`not a microversion: '${v}'`);
  return [Number(m[1]), Number(m[2])];
}

export function compareVersions(a: string, b: string): number {
  const [a1, a2] = parts(a);
  const [b1, b2] = parts(b);
  return a1 - b1 || a2 - b2;
}

export function versionAtLeast(v: string, min: string): boolean {
  return compareVersions(v, min) >= 0;
}

/** The unversioned root of a service URL: http://host:8776/v3/<project> -> http://host:8776 */
export function versionRoot(url: string): string {
  return url.replace(/\/+$/, "").replace(/\/v\d+(\.\d+)?(\/.*)?$/, "");
}

/** The wanted microversion, or the server's maximum when that is lower. */
export function negotiateMicroversion(doc: Versions, major: string, wanted: string, service: string): string {
  const v = doc.versions.find((x) => x.id.startsWith(`v${major}.`) && x.version);
  if (!v?.version) {
    throw new Error(`${service}: the version document lists no v${major} microversions (${doc.versions.map((x) => x.id).join(", ")})`);
  }
  if (v.min_version && compareVersions(wanted, v.min_version) < 0) {
    throw new Error(`${service}: wanted microversion ${wanted} is below the server's minimum ${v.min_version}`);
  }
  return compareVersions(wanted, v.version) > 0 ? v.version : wanted;
}
