import { redactText } from "../helpers/core/redact.ts";
import { LabError } from "./procs.ts";
import { FAULT_KINDS, type LabProfile, MAX_EDGES } from "./state.ts";
import { PROFILE_DEFS, PROFILES } from "./profiles/index.ts";
import { formatStatus } from "./status.ts";

/** The lab's usage: every subcommand of labCommand, every mutation and every fault kind (lab/cli.test.ts holds it). */
export const USAGE = `usage:
  dcn-verify lab up [--edges N] [--profile ${PROFILES.join("|")}]
                                     start (or complete) the embedded DCN lab; N edge sites, 1..${MAX_EDGES}; a lab up
                                     with another profile is reshaped (docs/lab.md, Lab profiles):
${PROFILES.map((p) => `                                       ${p}: ${PROFILE_DEFS[p].summary}`).join("\n")}
  dcn-verify lab packages [--profile ${PROFILES.join("|")}] [--tests]
                                     install only the Debian packages a lab of that profile needs (lab up does it
                                     too); --tests: also what dcn-verify's own tests need (Chromium, OpenSSH)
  dcn-verify lab restart             stop every OpenStack service and start them again, as an upgrade does
                                     (Ceph, MariaDB and RabbitMQ stay; the fake hypervisor keeps its guests)
  dcn-verify lab status              per-site table; exits 1 if any part is down
  dcn-verify lab down                stop every process the lab started
  dcn-verify lab fault <site> <kind> [--quiet]  break one thing on purpose (--quiet: no status table after)
  dcn-verify lab heal [<site>]       undo faults (all, or one site's: exits 0 once that site is up)
  dcn-verify lab mutate <site> <mutation> <target> [--offset N]
                                     change one object for good, as a bad upgrade would (nothing to heal):
                                     flatten <pool>/<image>, unprotect <pool>/<image>@<snap>,
                                     write-byte <pool>/<image> (one byte inverted at --offset, default 0),
                                     delete-from-store <image id> (the site's store only),
                                     remove <pool>/<image> (the image and its snapshots gone from the cluster
                                     behind the API's back; refused while a snapshot is protected)
fault kinds: ${FAULT_KINDS.join(" ")}`;

function parseEdges(args: string[]): number | undefined {
  const i = args.indexOf("--edges");
  if (i < 0) return undefined;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 1 || n > MAX_EDGES)
    throw new LabError(`--edges: expected a whole number from 1 to ${MAX_EDGES}, got '${args[i + 1] ?? ""}'`);
  return n;
}

function parseProfile(args: string[]): LabProfile | undefined {
  const i = args.indexOf("--profile");
  if (i < 0) return undefined;
  const p = args[i + 1];
  if (!PROFILES.includes(p as LabProfile)) throw new LabError(`--profile: expected one of ${PROFILES.join(", ")}, got '${p ?? ""}'`);
  return p as LabProfile;
}

export async function labCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const lab = await import("./index.ts");
  try {
    switch (sub) {
      case "up": {
        const st = await lab.up({ edges: parseEdges(rest), profile: parseProfile(rest) });
        console.log(formatStatus(st));
        return st.allUp || st.faults.length > 0 ? 0 : 1;
      }
      case "packages": {
        await lab.ensurePackages({ profile: parseProfile(rest), tests: rest.includes("--tests") });
        return 0;
      }
      case "restart": {
        const st = await lab.restartOpenStack();
        console.log(formatStatus(st));
        return st.allUp ? 0 : 1;
      }
      case "status": {
        const st = await lab.status();
        console.log(formatStatus(st));
        return st.allUp ? 0 : 1;
      }
      case "down": {
        const stopped = await lab.down();
        console.log(stopped.length ? `stopped: ${stopped.join(", ")}` : "nothing was running");
        return 0;
      }
      case "fault": {
        const [site, kind] = rest.filter((a) => a !== "--quiet");
        if (!site || !kind) throw new LabError("fault needs <site> <kind>");
        await lab.fault(site, kind);
        if (!rest.includes("--quiet")) console.log(formatStatus(await lab.status()));
        return 0;
      }
      case "heal": {
        const st = await lab.heal(rest[0]);
        console.log(formatStatus(st));
        // A site's heal answers for that site; other sites may keep their faults.
        return (rest[0] ? lab.siteUp(st, rest[0]) : st.allUp) ? 0 : 1;
      }
      case "mutate": {
        const i = rest.indexOf("--offset");
        const offset = i < 0 ? 0 : Number(rest[i + 1]);
        const [site, action, target] = i < 0 ? rest : [...rest.slice(0, i), ...rest.slice(i + 2)];
        if (!site || !action) throw new LabError("mutate needs <site> <mutation> <target>");
        const { mutate } = await import("./mutate.ts");
        console.log(await mutate(site, action, target, offset));
        return 0;
      }
      default:
        console.error(USAGE);
        return sub === undefined || sub === "--help" ? 0 : 2;
    }
  } catch (e) {
    const msg = redactText(e instanceof Error ? e.message : String(e));
    console.error(`lab ${sub}: ${msg}`);
    if (!(e instanceof LabError) || (e.service && !e.message.includes("last lines"))) console.error(`(see the logs under .lab/logs/)`);
    return 1;
  }
}
