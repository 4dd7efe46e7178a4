import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { timeoutsSchema } from "../config/schema.ts";
import { importTiming, timing } from "../config/timing.ts";
import { ApiError } from "../core/http.ts";
import { PACKAGE_ROOT } from "../core/package-root.ts";
import { WaitError, type WaitTiming, waitFor, waitForDeletion } from "../core/wait.ts";
import { type Server, serverSchema } from "./compute.ts";
import { type Image, imageSchema, type Task } from "./image.ts";
import { type Volume, volumeSchema } from "./volume.ts";
import { waitForImageInStores, waitForImageStatus, waitForImportSettled, waitForServerStatus, waitForVolumeStatus } from "./waiters.ts";

const recorded = (name: string): unknown => JSON.parse(readFileSync(join(PACKAGE_ROOT, "fixtures", "openstack", `${name}.json`), "utf8"));

/** A fake clock: sleeping advances it, so waits are instant and deterministic. */
function fakeTime(timeoutS = 10, intervalS = 1, intervalMaxS?: number) {
  let t = 0;
  const sleeps: number[] = [];
  const timingOpts: WaitTiming = {
    timeoutS,
    intervalS,
    intervalMaxS,
    clock: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
  };
  return { timing: timingOpts, sleeps, now: () => t };
}

/** Answers from a script; the last answer repeats. */
function script<T>(answers: Array<T | (() => T)>): () => Promise<T> {
  let i = 0;
  return async () => {
    const a = answers[Math.min(i++, answers.length - 1)]!;
    return typeof a === "function" ? (a as () => T)() : a;
  };
}

const ID = "5f0c3b7e-1d5a-4f0e-9a51-2b6c8d9e0f11";

function image(fields: Record<string, unknown> = {}): Image {
  return imageSchema.parse({
    id: ID,
    name: "dcnv-test",
    status: "active",
    visibility: "private",
    protected: false,
    tags: [],
    created_at: "2025-11-23T11:00:00Z",
    updated_at: "2025-11-23T11:00:01Z",
    ...fields,
  });
}

function errorOf(p: Promise<unknown>): Promise<WaitError> {
  return p.then(
    () => {
      throw new Error("the wait succeeded; it should have failed");
    },
    (e: unknown) => {
      expect(e).toBeInstanceOf(WaitError);
      return e as WaitError;
    },
  );
}

describe("waitFor", () => {
  test("returns the last value, the polls, the time and the distinct states seen", async () => {
    const f = fakeTime(60, 1);
    const r = await waitFor({
      ...f.timing,
      what: "thing 1",
      expected: "status done",
      poll: script(["a", "a", "b", "b", "done"]),
      done: (v) => v === "done",
      describe: (v) => `status=${v}`,
    });
    expect(r.value).toBe("done");
    expect(r.polls).toBe(5);
    expect(r.timeline.map((p) => [p.state, p.poll])).toEqual([
      ["status=a", 1],
      ["status=b", 3],
      ["status=done", 5],
    ]);
    expect(r.elapsedMs).toBe(f.now());
  });

  test("a timeout names the resource, the expected state, the time, the polls and the last state", async () => {
    const f = fakeTime(5, 1);
    const e = await errorOf(
      waitFor({
        ...f.timing,
        what: "volume v1",
        expected: "status available",
        poll: script(["creating"]),
        done: () => false,
        describe: (v) => `status=${v}`,
      }),
    );
    expect(e.kind).toBe("timeout");
    expect(e.name).toBe("WaitTimeoutError");
    expect(e.message).toBe(
      "volume v1: timed out after 5.0s (6 polls, timeout 5s) waiting for status available; last state: status=creating; states seen: status=creating @0.0s",
    );
    expect(e.polls).toBe(6);
    expect(e.lastValue).toBe("creating");
  });

  test("never sleeps past the deadline and polls once at it", async () => {
    const f = fakeTime(2.5, 1);
    await errorOf(waitFor({ ...f.timing, what: "x", expected: "y", poll: script([0]), done: () => false }));
    expect(f.sleeps).toEqual([1000, 1000, 500]);
    expect(f.now()).toBe(2500);
  });

  test("the interval grows from intervalS to intervalMaxS while nothing changes, and resets on a change", async () => {
    const f = fakeTime(30, 1, 4);
    const states = ["a", "a", "a", "a", "a", "b", "b", "b", "done"];
    await waitFor({ ...f.timing, what: "x", expected: "done", poll: script(states), done: (v) => v === "done" });
    expect(f.sleeps).toEqual([1000, 1500, 2250, 3375, 4000, 1000, 1500, 2250]);
  });

  test("a terminal state ends the wait at once and says which", async () => {
    const f = fakeTime(60, 1);
    const e = await errorOf(
      waitFor({
        ...f.timing,
        what: "image i1",
        expected: "status active",
        poll: script(["queued", "saving", "killed"]),
        done: (v) => v === "active",
        terminal: (v) => (v === "killed" ? "image status is killed" : undefined),
        describe: (v) => `status=${v}`,
      }),
    );
    expect(e.kind).toBe("terminal");
    expect(e.polls).toBe(3);
    expect(e.message).toContain("image i1: gave up waiting for status active after 2.0s (3 polls): image status is killed");
    expect(e.message).toContain("states seen: status=queued @0.0s -> status=saving @1.0s -> status=killed @2.0s");
  });

  test("a failing poll ends the wait with the cause and the context", async () => {
    const f = fakeTime(60, 1);
    const boom = new Error("connection refused");
    const e = await errorOf(
      waitFor({
        ...f.timing,
        what: "server s1",
        expected: "status ACTIVE",
        poll: script<string>([
          "BUILD",
          () => {
            throw boom;
          },
        ]),
        done: () => false,
      }),
    );
    expect(e.kind).toBe("poll");
    expect(e.cause).toBe(boom);
    expect(e.message).toContain("server s1: polling failed after 1.0s (1 polls) while waiting for status ACTIVE: connection refused");
  });

  test("timing() takes the wait's timeout and the poll intervals from the config", () => {
    const t = timeoutsSchema.parse({ copyImage: 42, pollInterval: 0.5, pollIntervalMax: 3 });
    expect(timing(t, "copyImage")).toEqual({ timeoutS: 42, intervalS: 0.5, intervalMaxS: 3 });
  });
});

describe("waitForImageStatus", () => {
  test("gives up early when the image is killed", async () => {
    const f = fakeTime(300, 1);
    const glance = { showImage: script([image({ status: "queued" }), image({ status: "saving" }), image({ status: "killed" })]) };
    const e = await errorOf(waitForImageStatus(glance, ID, "active", f.timing));
    expect(e.message).toContain(`image ${ID}: gave up waiting for status active`);
    expect(e.message).toContain("image status is killed");
    expect(f.now()).toBe(2000);
  });
});

describe("waitForImageInStores", () => {
  const noTasks = async (): Promise<Task[]> => [];

  test("absent importing is pending; done when nothing is left and the targets are in stores", async () => {
    const f = fakeTime(60, 1);
    const glance = {
      showImage: script([
        image({ stores: "central" }),
        image({ stores: "central" }),
        image({ stores: "central", os_glance_importing_to_stores: "dcn0,dcn1", os_glance_failed_import: "" }),
        image({ stores: "central,dcn1", os_glance_importing_to_stores: "dcn0", os_glance_failed_import: "" }),
        image({ stores: "dcn1,central,dcn0", os_glance_importing_to_stores: "", os_glance_failed_import: "" }),
      ]),
      listImageTasks: noTasks,
    };
    const r = await waitForImageInStores(glance, ID, ["dcn0", "dcn1"], f.timing);
    expect(r.polls).toBe(5);
    expect(r.value.image.stores).toEqual(["dcn1", "central", "dcn0"]);
    expect(r.timeline.map((p) => p.state)).toEqual([
      "status=active importing=absent failed=absent stores=[central] missing=[dcn0,dcn1]",
      "status=active importing=[dcn0,dcn1] failed=[] stores=[central] missing=[dcn0,dcn1]",
      "status=active importing=[dcn0] failed=[] stores=[central,dcn1] missing=[dcn0]",
      "status=active importing=[] failed=[] stores=[dcn1,central,dcn0] missing=[]",
    ]);
  });

  test("the recorded copy: pending, copying, copied", async () => {
    const f = fakeTime(60, 1);
    const seq = ["glance-image-copy-not-started", "glance-image-copying", "glance-image-copying", "glance-image-copied"].map((n) =>
      imageSchema.parse(recorded(n)),
    );
    const id = seq[0]!.id;
    const tasks = (recorded("glance-image-tasks") as { tasks: Task[] }).tasks;
    const as = (status: string) => tasks.map((t) => ({ ...t, status }));
    const glance = { showImage: script(seq), listImageTasks: script([as("processing"), as("processing"), as("processing"), tasks]) };
    const r = await waitForImageInStores(glance, id, ["dcn1", "dcn0"], { ...f.timing, requestId: tasks[0]!.request_id! });
    expect(r.polls).toBe(4);
    expect(r.timeline.map((p) => p.state.split(" task=")[0]!.replace(/ lock=\S+/, ""))).toEqual([
      "status=active importing=absent failed=absent stores=[central] missing=[dcn1,dcn0]",
      "status=active importing=[dcn0,dcn1] failed=[] stores=[central] missing=[dcn1,dcn0]",
      expect.stringMatching(/^status=active importing=\[\] failed=\[\] stores=\[central,dcn\d,dcn\d\] missing=\[\]$/),
    ]);
  });

  test("not done while the import task still holds the lock", async () => {
    const f = fakeTime(60, 1);
    const settled = { stores: "central,dcn0", os_glance_importing_to_stores: "", os_glance_failed_import: "" };
    const glance = {
      showImage: script([image({ ...settled, os_glance_import_task: "t1" }), image(settled)]),
      listImageTasks: noTasks,
    };
    const r = await waitForImageInStores(glance, ID, ["dcn0"], f.timing);
    expect(r.polls).toBe(2);
    expect(r.timeline[0]!.state).toContain("lock=t1");
  });

  test("absent importing never counts as done, even when the stores are there", async () => {
    const f = fakeTime(3, 1);
    const glance = { showImage: script([image({ stores: "central,dcn0" })]), listImageTasks: noTasks };
    const e = await errorOf(waitForImageInStores(glance, ID, ["dcn0"], f.timing));
    expect(e.kind).toBe("timeout");
    expect(e.message).toContain("importing=absent");
  });

  test("an empty importing list with a target missing is not done; the timeout lists what is left", async () => {
    const f = fakeTime(4, 1);
    const glance = {
      showImage: script([image({ stores: "central,dcn0", os_glance_importing_to_stores: "dcn1", os_glance_failed_import: "" })]),
      listImageTasks: noTasks,
    };
    const e = await errorOf(waitForImageInStores(glance, ID, ["dcn0", "dcn1"], f.timing));
    expect(e.message).toContain(`image ${ID}: timed out after 4.0s (5 polls, timeout 4s) waiting for stores [dcn0,dcn1]`);
    expect(e.message).toContain("importing=[dcn1] failed=[] stores=[central,dcn0] missing=[dcn1]");
  });

  test("a target in os_glance_failed_import ends the wait early and is named", async () => {
    const f = fakeTime(600, 1);
    const glance = {
      showImage: script([
        image({ stores: "central", os_glance_importing_to_stores: "dcn0,dcn1", os_glance_failed_import: "" }),
        image({ stores: "central,dcn0", os_glance_importing_to_stores: "", os_glance_failed_import: "dcn1" }),
      ]),
      listImageTasks: noTasks,
    };
    const e = await errorOf(waitForImageInStores(glance, ID, ["dcn0", "dcn1"], f.timing));
    expect(e.kind).toBe("terminal");
    expect(e.polls).toBe(2);
    expect(e.message).toContain("os_glance_failed_import lists [dcn1]");
    expect(e.message).toContain("missing=[dcn1]");
  });

  test("a failure of a store that is not a target does not stop the wait", async () => {
    const f = fakeTime(60, 1);
    const glance = {
      showImage: script([image({ stores: "central,dcn0", os_glance_importing_to_stores: "", os_glance_failed_import: "dcn1" })]),
      listImageTasks: noTasks,
    };
    const r = await waitForImageInStores(glance, ID, ["dcn0"], f.timing);
    expect(r.polls).toBe(1);
  });

  test("glance-direct: importing back to queued is a failure", async () => {
    const f = fakeTime(600, 1);
    const glance = {
      showImage: script([
        image({ status: "importing", os_glance_importing_to_stores: "central" }),
        image({ status: "queued", os_glance_importing_to_stores: "" }),
      ]),
      listImageTasks: noTasks,
    };
    const e = await errorOf(waitForImageInStores(glance, ID, ["central"], f.timing));
    expect(e.message).toContain("image went from importing back to queued (the import failed)");
  });

  const task = (status: string, message = "", request_id = "req-abc"): Task => ({
    id: "t1",
    status,
    message,
    request_id,
    type: "api_image_import",
  });

  test("with the request id: a failed task ends the wait with its message", async () => {
    const f = fakeTime(600, 1);
    const glance = {
      showImage: script([image({ stores: "central" })]),
      listImageTasks: script([[task("processing")], [task("failure", "Image is already present at store 'central'")]]),
    };
    const e = await errorOf(waitForImageInStores(glance, ID, ["dcn0"], { ...f.timing, requestId: "req-abc" }));
    expect(e.message).toContain("import task t1 failed: Image is already present at store 'central'");
    expect(e.polls).toBe(2);
  });

  test("with the request id: a successful task whose lock is still held keeps the wait going until it is released", async () => {
    const f = fakeTime(600, 1);
    const copied = { stores: "dcn0,central", os_glance_importing_to_stores: "", os_glance_failed_import: "" };
    const glance = {
      showImage: script([
        image({ ...copied, os_glance_import_task: "t1" }),
        image({ ...copied, os_glance_import_task: "t1" }),
        image(copied),
      ]),
      listImageTasks: script([[task("success", "Copied 1024 MiB")]]),
    };
    const r = await waitForImageInStores(glance, ID, ["central"], { ...f.timing, requestId: "req-abc" });
    expect(r.polls).toBe(3);
    expect(r.value.image.stores).toEqual(["dcn0", "central"]);
  });

  test("with the request id: an import that started no task ends the wait at once", async () => {
    const f = fakeTime(600, 1);
    const glance = { showImage: script([image({ stores: "central" })]), listImageTasks: script([[task("success", "", "req-other")]]) };
    const e = await errorOf(waitForImageInStores(glance, ID, ["dcn0"], { ...f.timing, requestId: "req-abc" }));
    expect(e.message).toContain("import request req-abc started no task, and stores [dcn0] are missing");
    expect(e.polls).toBe(1);
  });

  test("with the request id: no task and every target present is done (all_stores with nothing to copy)", async () => {
    const f = fakeTime(600, 1);
    const glance = { showImage: script([image({ stores: "central,dcn0,dcn1" })]), listImageTasks: noTasks };
    const r = await waitForImageInStores(glance, ID, ["central", "dcn0", "dcn1"], { ...f.timing, requestId: "req-abc" });
    expect(r.polls).toBe(1);
  });

  test("with the request id: a failure left by an earlier import does not end the wait before this one runs", async () => {
    const f = fakeTime(600, 1);
    const stale = { stores: "central", os_glance_importing_to_stores: "", os_glance_failed_import: "dcn0" };
    const glance = {
      showImage: script([
        image(stale),
        image(stale),
        image({ stores: "central", os_glance_importing_to_stores: "dcn0", os_glance_failed_import: "" }),
        image({ stores: "central,dcn0", os_glance_importing_to_stores: "", os_glance_failed_import: "" }),
      ]),
      listImageTasks: script([[task("pending", "", "abc")], [task("processing", "", "abc")], [task("processing", "", "abc")]]),
    };
    const r = await waitForImageInStores(glance, ID, ["dcn0"], { ...f.timing, requestId: "req-abc" });
    expect(r.polls).toBe(4);
  });

  test("with the request id: a task that succeeded without the stores is reported", async () => {
    const f = fakeTime(600, 1);
    const glance = {
      showImage: script([image({ stores: "central", os_glance_importing_to_stores: "", os_glance_failed_import: "" })]),
      listImageTasks: script([[task("success")]]),
    };
    const e = await errorOf(waitForImageInStores(glance, ID, ["dcn0"], { ...f.timing, requestId: "req-abc" }));
    expect(e.message).toContain("import task t1 succeeded but stores [dcn0] are missing");
  });
});

function volume(status: string): Volume {
  return volumeSchema.parse({
    id: "v1",
    name: "dcnv",
    status,
    size: 1,
    availability_zone: "dcn0",
    attachments: [],
    metadata: {},
    created_at: "2025-11-23T11:00:00",
  });
}

describe("waitForImportSettled", () => {
  const task = (status: string, message = ""): Task => ({ id: "t1", status, message, request_id: "req-abc", type: "api_image_import" });
  test("the recorded must-succeed failure: importing, then back to queued with every store failed, is a settled result", async () => {
    const f = fakeTime(60, 0.2, 2);
    const glance = {
      showImage: script([
        image({ status: "queued" }),
        image({
          status: "importing",
          os_glance_importing_to_stores: "central,dcn0,dcn1",
          os_glance_failed_import: "",
          os_glance_import_task: "t1",
        }),
        image({
          status: "importing",
          stores: "central,dcn0",
          os_glance_importing_to_stores: "dcn1",
          os_glance_failed_import: "",
          os_glance_import_task: "t1",
        }),
        image({ status: "queued", os_glance_importing_to_stores: "", os_glance_failed_import: "central,dcn0,dcn1" }),
      ]),
      listImageTasks: script([
        [task("processing")],
        [task("processing")],
        [task("processing")],
        [task("failure", "Task failed due to Internal Error")],
      ]),
    };
    const r = await waitForImportSettled(glance, ID, ["central", "dcn0", "dcn1"], { ...f.timing, requestId: "req-abc" });
    expect(r.value.image.status).toBe("queued");
    expect(r.value.failed).toEqual(["central", "dcn0", "dcn1"]);
    expect(r.timeline.map((p) => p.state)).toEqual([
      "status=queued importing=absent failed=absent stores=[] task=processing",
      "status=importing importing=[central,dcn0,dcn1] failed=[] stores=[] task=processing",
      "status=importing importing=[dcn1] failed=[] stores=[central,dcn0] task=processing",
      "status=queued importing=[] failed=[central,dcn0,dcn1] stores=[] task=failure",
    ]);
    expect(r.gaps.minMs).toBe(200);
  });

  test("allow_failure: active with a failed store is settled once the task ends and the lock is gone", async () => {
    const f = fakeTime(60, 0.2, 2);
    const glance = {
      showImage: script([
        image({ stores: "central,dcn0", os_glance_importing_to_stores: "", os_glance_failed_import: "dcn1", os_glance_import_task: "t1" }),
        image({ stores: "central,dcn0", os_glance_importing_to_stores: "", os_glance_failed_import: "dcn1" }),
      ]),
      listImageTasks: script([[task("success", "Copied 8 MiB")]]),
    };
    const r = await waitForImportSettled(glance, ID, ["central", "dcn0", "dcn1"], { ...f.timing, requestId: "req-abc" });
    expect(r.polls).toBe(2);
    expect(r.value.failed).toEqual(["dcn1"]);
    expect(r.value.missing).toEqual(["dcn1"]);
  });

  test("an import request that started no task ends the wait at once", async () => {
    const f = fakeTime(60, 0.2);
    const glance = { showImage: script([image({ status: "queued" })]), listImageTasks: async (): Promise<Task[]> => [] };
    const e = await errorOf(waitForImportSettled(glance, ID, ["central"], { ...f.timing, requestId: "req-abc" }));
    expect(e.kind).toBe("terminal");
    expect(e.message).toContain("import request req-abc started no task");
  });

  test("a wait that never settles times out with the last state", async () => {
    const f = fakeTime(3, 0.2, 1);
    const glance = {
      showImage: script([image({ status: "importing", os_glance_importing_to_stores: "dcn0", os_glance_import_task: "t1" })]),
      listImageTasks: script([[task("processing")]]),
    };
    const e = await errorOf(waitForImportSettled(glance, ID, ["dcn0"], { ...f.timing, requestId: "req-abc" }));
    expect(e.kind).toBe("timeout");
    expect(e.message).toMatch(
      /timed out after 3\.0s .*waiting for the import req-abc to end; last state: status=importing importing=\[dcn0\]/,
    );
  });

  test("importTiming() polls from importPollInterval up to importPollIntervalMax", () => {
    const t = timeoutsSchema.parse({});
    expect(importTiming(t, "copyImage")).toEqual({ timeoutS: 600, intervalS: 0.2, intervalMaxS: 2 });
  });
});

describe("waitForVolumeStatus", () => {
  test("gives up early on an error status", async () => {
    const f = fakeTime(300, 1);
    const e = await errorOf(
      waitForVolumeStatus({ showVolume: script([volume("creating"), volume("error")]) }, "v1", "available", f.timing),
    );
    expect(e.message).toContain("volume v1: gave up waiting for status available after 1.0s (2 polls): volume status is error");
  });

  test("accepts any of several statuses", async () => {
    const f = fakeTime(300, 1);
    const r = await waitForVolumeStatus(
      { showVolume: script([volume("uploading"), volume("in-use")]) },
      "v1",
      ["available", "in-use"],
      f.timing,
    );
    expect(r.value.status).toBe("in-use");
  });
});

function server(status: string, task_state: string | null = null, extra: Record<string, unknown> = {}): Server {
  return serverSchema.parse({ id: "s1", name: "dcnv", status, "OS-EXT-STS:task_state": task_state, ...extra });
}

describe("waitForServerStatus", () => {
  test("waits until no task is in flight", async () => {
    const f = fakeTime(300, 1);
    const r = await waitForServerStatus(
      { showServer: script([server("BUILD", "spawning"), server("ACTIVE", "powering-off"), server("SHUTOFF")]) },
      "s1",
      "SHUTOFF",
      f.timing,
    );
    expect(r.timeline.map((p) => p.state)).toEqual([
      "status=BUILD task_state=spawning",
      "status=ACTIVE task_state=powering-off",
      "status=SHUTOFF task_state=none",
    ]);
  });

  test("ERROR ends the wait with the fault", async () => {
    const f = fakeTime(300, 1);
    const e = await errorOf(
      waitForServerStatus(
        { showServer: script([server("ERROR", null, { fault: { code: 500, message: "No valid host was found." } })]) },
        "s1",
        "ACTIVE",
        f.timing,
      ),
    );
    expect(e.message).toContain(
      "server s1: gave up waiting for status ACTIVE with no task_state after 0.0s (1 polls): server status is ERROR: No valid host was found.",
    );
  });
});

describe("waitForDeletion", () => {
  const notFound = () =>
    new ApiError({
      service: "cinder",
      method: "GET",
      url: "http://x/v3/p/volumes/v1",
      status: 404,
      body: '{"itemNotFound": {"message": "Volume v1 could not be found.", "code": 404}}',
    });

  test("a 404 is done", async () => {
    const f = fakeTime(60, 1);
    const r = await waitForDeletion(
      script<unknown>([
        volume("deleting"),
        () => {
          throw notFound();
        },
      ]),
      "volume v1",
      f.timing,
    );
    expect(r.value).toEqual({ gone: true });
    expect(r.polls).toBe(2);
  });

  test("error_deleting ends the wait", async () => {
    const f = fakeTime(60, 1);
    const e = await errorOf(waitForDeletion(script<unknown>([volume("deleting"), volume("error_deleting")]), "volume v1", f.timing));
    expect(e.message).toContain("volume v1: gave up waiting for deletion (404)");
    expect(e.message).toContain("status is error_deleting");
  });

  test("another error is not taken for a deletion", async () => {
    const f = fakeTime(60, 1);
    const forbidden = new ApiError({ service: "glance", method: "GET", url: "http://x/v2/images/i", status: 403, body: "" });
    const e = await errorOf(
      waitForDeletion(
        script<unknown>([
          () => {
            throw forbidden;
          },
        ]),
        "image i",
        f.timing,
      ),
    );
    expect(e.kind).toBe("poll");
    expect(e.cause).toBe(forbidden);
  });

  test("times out with the last state", async () => {
    const f = fakeTime(2, 1);
    const e = await errorOf(waitForDeletion(script<unknown>([volume("deleting")]), "volume v1", f.timing));
    expect(e.message).toContain("last state: present status=deleting");
  });
});

describe("real timers", () => {
  test("a short real wait ends by itself", async () => {
    let n = 0;
    const r = await waitFor({ timeoutS: 1, intervalS: 0.01, what: "x", expected: "3 polls", poll: async () => ++n, done: (v) => v >= 3 });
    expect(r.polls).toBe(3);
    expect(r.elapsedMs).toBeGreaterThanOrEqual(15);
  });
});
