import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { PACKAGE_ROOT } from "../../helpers/core/package-root.ts";

/** The README and every page under docs/, as paths from the package root. */
const PAGES = [
  "README.md",
  ...readdirSync(join(PACKAGE_ROOT, "docs"), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".md"))
    .map((e) => relative(PACKAGE_ROOT, join(e.parentPath, e.name)))
    .sort(),
];

/** The text outside fenced code blocks, where Markdown renders links and headings. */
function prose(markdown: string): string[] {
  let fenced = false;
  return markdown.split("\n").filter((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
}

/** GitHub's anchor of a heading's text: lower case, punctuation other than - and _ dropped, each space a hyphen. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replaceAll("`", "")
    .replace(/[*~]/g, "");
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, "")
    .replaceAll(" ", "-");
}

/** A page's anchors, one per heading; a repeated heading gets -1, -2, … as on GitHub. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of prose(markdown)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n ? `${base}-${n}` : base);
  }
  return anchors;
}

/** Every link target of a page's prose: `[text](target)` and `![alt](target "title")`, code spans left out. */
function linksOf(markdown: string): string[] {
  const text = prose(markdown)
    .map((line) => line.replace(/(`+)[^`]*?\1/g, ""))
    .join("\n");
  return [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
}

/**
 * The relative links of a page (at `file`, a path from `root`) that do not resolve: a path that does not exist, or an
 * anchor that is not a heading of the Markdown page it names. Links with a scheme (http, https, mailto) are not checked.
 */
function brokenLinks(root: string, file: string, markdown: string, read = (p: string) => readFileSync(p, "utf8")): string[] {
  const broken: string[] = [];
  for (const link of linksOf(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue;
    const [path = "", anchor] = link.split("#", 2) as [string, string | undefined];
    const target = path ? resolve(root, dirname(file), decodeURIComponent(path)) : resolve(root, file);
    if (!existsSync(target)) {
      broken.push(`${file}: ${link} (no ${relative(root, target)})`);
      continue;
    }
    if (anchor === undefined || !statSync(target).isFile() || !target.endsWith(".md")) continue;
    const text = path ? read(target) : markdown;
    if (!anchorsOf(text).has(decodeURIComponent(anchor).toLowerCase()))
      broken.push(`${file}: ${link} (no heading #${anchor} in ${relative(root, target)})`);
  }
  return broken;
}

describe("the documentation's links", () => {
  test("covers the README and every page under docs/", () => {
    expect(PAGES).toContain("README.md");
    expect(PAGES).toContain("docs/configuration.md");
    expect(PAGES).toContain("docs/guides/osp17.md");
  });

  test.each(PAGES)("every relative link of %s resolves, anchors included", (page) => {
    const text = readFileSync(join(PACKAGE_ROOT, page), "utf8");
    expect(brokenLinks(PACKAGE_ROOT, page, text)).toEqual([]);
  });

  test("a broken path, a broken anchor and a link in code are told apart", () => {
    const example = [
      "# A page",
      "## Exit codes, per command",
      "See [the config](docs/configuration.md), [its reference](docs/configuration.md#configuration-reference),",
      "[exit codes](#exit-codes-per-command) and [the site](https://example.com/x#y).",
      "Broken: [gone](docs/no-such-page.md), [no heading](docs/configuration.md#no-such-heading), [here](#nowhere).",
      "In code it is not a link: `[x](docs/missing.md)`.",
      "```",
      "[y](docs/missing-too.md)",
      "```",
    ].join("\n");
    expect(brokenLinks(PACKAGE_ROOT, "README.md", example)).toEqual([
      "README.md: docs/no-such-page.md (no docs/no-such-page.md)",
      "README.md: docs/configuration.md#no-such-heading (no heading #no-such-heading in docs/configuration.md)",
      "README.md: #nowhere (no heading #nowhere in README.md)",
    ]);
  });

  test("anchors are GitHub's: code and punctuation dropped, repeats numbered", () => {
    const anchors = anchorsOf(
      "# T\n## `npm run verify:lab` from a bare machine\n### Multi-store import (at central, `--suites multistore`)\n## A\n## A\n",
    );
    expect([...anchors]).toEqual([
      "t",
      "npm-run-verifylab-from-a-bare-machine",
      "multi-store-import-at-central---suites-multistore",
      "a",
      "a-1",
    ]);
  });
});

describe("the README", () => {
  const readme = readFileSync(join(PACKAGE_ROOT, "README.md"), "utf8");

  test("fits on a screen or two: at most 200 lines", () => {
    expect(readme.split("\n").length).toBeLessThanOrEqual(200);
  });

  test("opens with the two commands, and both are scripts of the package", () => {
    const scripts = (JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    const lines = readme.split("\n");
    expect(lines.slice(0, 3)).toEqual(["# dcn-verify", "", "```sh"]);
    expect(lines[3]).toMatch(/^npm ci && npm run verify:lab +# /);
    expect(lines[4]).toMatch(/^npm ci && npm test +# /);
    expect(scripts["verify:lab"]).toBeDefined();
    expect(scripts.test).toBeDefined();
  });

  test("links every page under docs/", () => {
    const linked = new Set(linksOf(readme).map((l) => l.split("#")[0]));
    expect(PAGES.filter((p) => p !== "README.md" && !linked.has(p))).toEqual([]);
  });
});
