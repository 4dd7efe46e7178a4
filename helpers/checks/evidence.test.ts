import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { ApiError } from "../core/http.ts";
import { PACKAGE_ROOT } from "../core/package-root.ts";
import { copyRefusal } from "./evidence.ts";

const recorded = JSON.parse(readFileSync(join(PACKAGE_ROOT, "fixtures", "openstack", "glance-error-copy-to-present-store.json"), "utf8"));
const glanceError = (o: { status?: number; body?: string; code?: string }) =>
  new ApiError({ service: "glance", method: "POST", url: "http://glance/v2/images/x/import", ...o });

describe("step 7b takes only Glance's documented refusal", () => {
  test("the recorded 400 'already present at store' is the refusal", () => {
    const r = copyRefusal(glanceError({ status: recorded.status, body: recorded.body }));
    expect(r).toEqual({ status: 400, message: expect.stringContaining("Image is already present at store") });
  });

  test("a 500, a refused connection or another 400 is not", () => {
    expect(copyRefusal(glanceError({ status: 500, body: '{"message": "Internal Server Error"}' }))).toBeUndefined();
    expect(copyRefusal(glanceError({ code: "ECONNREFUSED" }))).toBeUndefined();
    expect(copyRefusal(glanceError({ status: 400, body: '{"message": "Invalid stores: nowhere"}' }))).toBeUndefined();
    expect(copyRefusal(new Error("Image is already present at store 'central'"))).toBeUndefined();
  });
});
