// The run's Allure reports, one after another in one child process of the run (helpers/ops/reports/allure.ts starts it).
// NOTE: Allure's CLI loads every plugin it ships (Slack, Jira, TestOps...) on each call: about 2 s of CPU per site
// for a report that takes about 0.3 s to build once Allure's core is loaded.
import { dirname } from "node:path";
import { AllureReport, readConfig } from "@allurereport/core";

let queue = Promise.resolve();

/** One report: the same steps as `allure generate <resultsDir> -c <configFile> -o <output> --name <name>`. */
async function generate({ id, resultsDir, configFile, output, name }) {
  try {
    // NOTE: Allure resolves what the config leaves relative from its folder, the site's, as the CLI did with its cwd there.
    const config = await readConfig(dirname(configFile), configFile, { name, output });
    const report = new AllureReport(config);
    await report.restoreState([]);
    await report.start();
    await report.readDirectory(resultsDir);
    await report.done();
    process.send({ id, ok: true });
  } catch (e) {
    process.send({ id, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
}

process.on("message", (m) => {
  queue = queue.then(() => generate(m));
});
// NOTE: a Ctrl-C reaches the whole process group; the run answers it by cleaning up and still writes its reports.
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => undefined);
process.on("disconnect", () => void queue.then(() => process.exit(0)));
