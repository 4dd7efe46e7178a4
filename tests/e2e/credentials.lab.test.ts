import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { parse, stringify } from "yaml";
import { paths } from "../../lab/state.ts";
import { cli } from "./testing.ts";

/** Read-only against the lab: plan and doctor with credentials written to a temp dir, as an operator would. */

interface LabEntry {
  auth: { auth_url: string; username: string; password: string; project_name: string };
  region_name: string;
}

let dir = "";
let lab: LabEntry;

/** The environment of the CLI: nothing of the caller's OS_* or openstack config, HOME in the temp dir. */
function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("OS_") && !k.startsWith("XDG_")) env[k] = v;
  return { ...env, HOME: dir, DCN_VERIFY_CONFIG: "", ...extra };
}

/** The lab's config with its cloud section (and the sites' fields) replaced, in the temp dir. */
function configWith(name: string, cloud: unknown, edit: (cfg: Record<string, any>) => void = () => undefined): string {
  const cfg = parse(readFileSync(paths().config, "utf8")) as Record<string, any>;
  cfg.cloud = cloud;
  edit(cfg);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(cfg), { mode: 0o600 });
  return file;
}

function cloudsFile(name: string, clouds: Record<string, unknown>): string {
  const file = join(dir, name);
  writeFileSync(file, stringify({ clouds }), { mode: 0o600 });
  return file;
}

/** A project-scoped token for the lab's admin, asked of Keystone directly. */
async function issueToken(): Promise<string> {
  const res = await fetch(`${lab.auth.auth_url.replace(/\/+$/, "")}/auth/tokens`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ["password"],
          password: { user: { name: lab.auth.username, domain: { name: "Default" }, password: lab.auth.password } },
        },
        scope: { project: { name: lab.auth.project_name, domain: { name: "Default" } } },
      },
    }),
  });
  expect(res.status).toBe(201);
  return res.headers.get("x-subject-token")!;
}

const WRONG = {
  OS_AUTH_URL: "http://127.0.0.1:1/v3",
  OS_USERNAME: "admin",
  OS_PASSWORD: "wrong-password-from-env",
  OS_PROJECT_NAME: "admin",
  OS_USER_DOMAIN_NAME: "Default",
  OS_PROJECT_DOMAIN_NAME: "Default",
  OS_REGION_NAME: "RegionNowhere",
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "dcnv-creds-"));
  lab = (parse(readFileSync(paths().cloudsYaml, "utf8")) as { clouds: Record<string, LabEntry> }).clouds["dcn-lab"]!;
});

describe("credentials as openstacksdk picks them", () => {
  test("OS_CLOUD beside wrong OS_* variables picks its clouds.yaml entry; without OS_CLOUD the variables are used", async () => {
    const clouds = cloudsFile("clouds.yaml", {
      "dcn-lab": lab,
      decoy: { ...lab, auth: { ...lab.auth, password: "decoy-password" } },
    });
    const cfg = configWith("from-env", { fromEnv: true });
    const env = cleanEnv({ ...WRONG, OS_CLIENT_CONFIG_FILE: clouds });

    const plan = await cli(["plan", "--config", cfg, "--tier", "read-only"], { env: { ...env, OS_CLOUD: "dcn-lab" } });
    expect(plan.exitCode, plan.all).toBe(0);
    expect(plan.stderr).toContain(`credentials: cloud dcn-lab, authenticated to ${lab.auth.auth_url} as admin (password), project admin`);

    const doctor = await cli(["doctor", "--config", cfg], { env: { ...env, OS_CLOUD: "dcn-lab" } });
    expect(doctor.stdout, doctor.all).toMatch(/^OK +credentials +authenticated as admin, project admin/m);
    expect(doctor.stdout).toMatch(/^OK +catalog Cinder v3 +block-storage at http:\/\/127\.0\.0\.1:8776\//m);

    const decoy = await cli(["plan", "--config", cfg], { env: { ...env, OS_CLOUD: "decoy" } });
    expect(decoy.exitCode).toBe(1);
    expect(decoy.stderr).toMatch(/cannot authenticate: keystone POST \/v3\/auth\/tokens -> 401/);

    const vars = await cli(["plan", "--config", cfg], { env });
    expect(vars.exitCode).toBe(1);
    expect(vars.stderr).toMatch(/cannot authenticate: keystone POST \/v3\/auth\/tokens failed.*ECONNREFUSED/);
    for (const out of [plan.all, doctor.all, decoy.all, vars.all]) {
      expect(out).not.toContain(lab.auth.password);
      expect(out).not.toContain("wrong-password-from-env");
    }
  });

  test("a pre-issued token (v3token) authenticates plan and doctor, and never shows; a bogus one is refused", async () => {
    const token = await issueToken();
    const scope = { project_name: lab.auth.project_name, project_domain_name: "Default" };
    const clouds = cloudsFile("token-clouds.yaml", {
      tok: { auth_type: "v3token", auth: { auth_url: lab.auth.auth_url, token, ...scope }, region_name: lab.region_name },
      bogus: { auth_type: "token", auth: { auth_url: lab.auth.auth_url, token: "gAAAAAbogus-token-0000", ...scope } },
    });
    const env = cleanEnv({});

    const plan = await cli(["plan", "--config", configWith("token", { cloud: "tok", cloudsFile: clouds }), "--tier", "read-only"], { env });
    expect(plan.exitCode, plan.all).toBe(0);
    expect(plan.stderr).toContain("authenticated to");
    expect(plan.stderr).toContain("as admin (a pre-issued token), project admin");

    const doctor = await cli(["doctor", "--config", configWith("token", { cloud: "tok", cloudsFile: clouds })], { env });
    expect(doctor.stdout, doctor.all).toMatch(/^OK +credentials +authenticated as admin, project admin/m);
    expect(doctor.stdout).toMatch(/^OK +endpoint Glance /m);
    expect(doctor.stdout).toMatch(/^OK +endpoint Nova /m);

    const bogus = await cli(["plan", "--config", configWith("bogus", { cloud: "bogus", cloudsFile: clouds })], { env });
    expect(bogus.exitCode).toBe(1);
    expect(bogus.stderr).toMatch(/cannot authenticate: keystone POST \/v3\/auth\/tokens -> (401|404)/);
    for (const out of [plan.all, doctor.all, bogus.all]) {
      expect(out).not.toContain(token);
      expect(out).not.toContain("gAAAAAbogus-token-0000");
    }
  });

  test("an endpoint override, api_timeout and a site's region are what the requests use", async () => {
    const clouds = cloudsFile("override-clouds.yaml", {
      override: { ...lab, image_endpoint_override: "http://127.0.0.1:1" },
      hasty: { ...lab, api_timeout: 0.001 },
    });
    const env = cleanEnv({});

    const override = await cli(["doctor", "--config", configWith("override", { cloud: "override", cloudsFile: clouds })], { env });
    expect(override.exitCode).toBe(1);
    expect(override.stdout).toMatch(/^OK +catalog Glance +image at http:\/\/127\.0\.0\.1:1$/m);
    expect(override.stdout).toMatch(/^FAIL +endpoint Glance +glance GET \/v2\/info\/stores failed.*ECONNREFUSED/m);

    const hasty = await cli(["plan", "--config", configWith("hasty", { cloud: "hasty", cloudsFile: clouds })], { env });
    expect(hasty.exitCode).toBe(1);
    expect(hasty.stderr).toMatch(/cannot authenticate: keystone POST \/v3\/auth\/tokens failed.*ECONNABORTED/);

    const regionCfg = configWith("region", { cloud: "dcn-lab", cloudsFile: paths().cloudsYaml }, (cfg) => {
      cfg.edges[0].region = "RegionNowhere";
      cfg.edges[1].region = lab.region_name;
    });
    const region = await cli(["doctor", "--config", regionCfg], { env });
    expect(region.exitCode).toBe(1);
    const site0 = (parse(readFileSync(regionCfg, "utf8")) as { edges: { name: string }[] }).edges.map((e) => e.name);
    expect(region.stdout).toMatch(
      new RegExp(`^FAIL +catalog Cinder v3 at ${site0[0]} +no public endpoint for service type .* in region 'RegionNowhere'`, "m"),
    );
    expect(region.stdout).toMatch(new RegExp(`^OK +catalog Nova at ${site0[1]} +compute in region ${lab.region_name} at `, "m"));
  });
});
