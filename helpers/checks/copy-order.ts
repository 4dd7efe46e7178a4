import type { Task } from "../clients/image.ts";

export type CopyOrder =
  /** Not uploaded at this edge alone (uploaded at central, or to several stores at once): the rule does not apply. */
  | { kind: "not-an-edge-upload"; origin: string[] }
  | { kind: "central-first" | "edge-first"; order: string[] }
  | { kind: "unknown"; reason: string };

interface Copy {
  task: string;
  createdAt: string;
  stores: string[];
}

/** Successful copy-image tasks, oldest first. */
function copies(tasks: Task[]): Copy[] {
  return tasks
    .filter((t) => t.input?.import_req?.method?.name === "copy-image" && t.status === "success")
    .map((t) => ({ task: t.id, createdAt: t.created_at ?? "", stores: (t.input?.backend ?? []).filter((s): s is string => Boolean(s)) }))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/**
 * Whether an image uploaded at an edge reached central before any other edge, from its import tasks.
 * NOTE: Glance records a task's created_at to the second. One task copies its stores in the order it
 * lists them, but two tasks of the same second cannot be ordered: that is unknown, never a pass.
 */
export function judgeCopyOrder(
  stores: string[],
  tasks: Task[],
  o: { edge: string; central: string; otherEdges: ReadonlySet<string> },
): CopyOrder {
  const cs = copies(tasks);
  const copied = new Set(cs.flatMap((c) => c.stores));
  const origin = stores.filter((s) => !copied.has(s));
  // NOTE: an upload lands in one store, an import task may name several. More than one store that no listed task
  // accounts for means the tasks that put the image there are gone: Glance lists only tasks younger than
  // task_time_to_live, so some or all of its copies left no trace, and where it was uploaded cannot be told.
  const imported = tasks.some(
    (t) =>
      t.status === "success" && t.input?.import_req?.method?.name !== "copy-image" && origin.every((s) => t.input?.backend?.includes(s)),
  );
  if (origin.length > 1 && !imported) {
    return {
      kind: "unknown",
      reason: tasks.length
        ? `Glance lists no task that put it in ${origin.join(" and ")} (older tasks expire after task_time_to_live), so where it was uploaded and the order of its copies to [${stores.join(", ")}] cannot be read`
        : `Glance keeps no task for it (tasks expire after task_time_to_live), so where it was uploaded and the order of its copies to [${stores.join(", ")}] cannot be read`,
    };
  }
  if (!origin.includes(o.edge) || origin.includes(o.central)) return { kind: "not-an-edge-upload", origin };
  const order = [o.edge, ...cs.flatMap((c) => c.stores)];
  const first = (want: (s: string) => boolean) => {
    const i = cs.findIndex((c) => c.stores.some(want));
    return i < 0 ? undefined : { copy: cs[i]!, pos: cs[i]!.stores.findIndex(want) };
  };
  const central = first((s) => s === o.central);
  const other = first((s) => o.otherEdges.has(s));
  if (!other) return { kind: "central-first", order };
  if (!central) return { kind: "edge-first", order };
  if (central.copy === other.copy) return { kind: central.pos < other.pos ? "central-first" : "edge-first", order };
  if (central.copy.createdAt === other.copy.createdAt) {
    return {
      kind: "unknown",
      reason:
        `its copy to ${o.central} (task ${central.copy.task}) and its copy to ${other.copy.stores.find((s) => o.otherEdges.has(s))} (task ${other.copy.task}) ` +
        `were both created at ${central.copy.createdAt}, and Glance records task times to the second`,
    };
  }
  return { kind: central.copy.createdAt < other.copy.createdAt ? "central-first" : "edge-first", order };
}
