/**
 * Builds the npm package in ./npm from the Deno-first sources (the job dnt does; dnt is only on
 * JSR, which these machines cannot reach).
 *
 *   npm run build            (tsx scripts/build_npm.ts)
 *   deno run -A scripts/build_npm.ts
 *
 * Steps: check that deno.json imports, package.json dependencies and the version agree; compile
 * with tsc (tsconfig.build.json: ESM .js + .d.ts + source maps with the TypeScript inlined,
 * "./x.ts" -> "./x.js"); rewrite the same specifiers in the .d.ts files (tsc leaves ".ts" there);
 * write npm/package.json (exports, bin with a shebang entry, exact dependency versions, engines);
 * bundle the bin with esbuild (the AWS SDK and zod stay lazy external imports);
 * copy README, LICENSE and docs; check every .js has a self-contained source map; smoke-import
 * the result with node, as ESM and through require().
 *
 * ESM only, no CommonJS build: Node >= 20.19 can require() it (engines says so), and one module
 * graph means one copy of the DEK cache and of the error classes (no dual-package hazard). The
 * README's "Packaging" section says more; tests/consumer/run.ts checks the packed result.
 */
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  cpSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, join, relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { buildBinBundle } from "./bin_bundle.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const outDir = join(root, "npm");
const BIN = { sealfig: "./esm/scripts/sealfig.js" } as const;

interface PackageJson {
  name: string;
  version: string;
  description?: string;
  license?: string;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as PackageJson;
const denoJson = JSON.parse(readFileSync(join(root, "deno.json"), "utf8")) as {
  version?: string;
  imports?: Record<string, string>;
  exports: Record<string, string>;
};

// 1. Metadata must agree: deno.json imports = package.json versions; one version everywhere.
const problems: string[] = [];
for (const [spec, target] of Object.entries(denoJson.imports ?? {})) {
  const m = /^npm:(@?[^@]+)@(.+)$/.exec(target);
  if (!m) continue;
  const [, name, version] = m as unknown as [string, string, string];
  const declared = pkg.dependencies?.[name] ?? pkg.devDependencies?.[name];
  if (spec !== name) problems.push(`deno.json maps "${spec}" to a different package ${name}`);
  else if (!declared) problems.push(`${name} is in deno.json imports but not in package.json`);
  else if (declared !== version) {
    problems.push(`${name}: deno.json has ${version}, package.json has ${declared}`);
  }
}
for (const name of Object.keys(pkg.dependencies ?? {})) {
  if (!denoJson.imports?.[name]) {
    problems.push(`dependency ${name} is not mapped in deno.json imports`);
  }
}
const srcVersion = /VERSION = "([^"]+)"/.exec(readFileSync(join(root, "src", "version.ts"), "utf8"))
  ?.[1];
if (srcVersion !== pkg.version || denoJson.version !== pkg.version) {
  problems.push(
    `versions differ: package.json ${pkg.version}, deno.json ${denoJson.version}, src/version.ts ${srcVersion}`,
  );
}
// The entry points: deno.json's exports, which package.json's exports must repeat (the npm
// package's exports are derived from them below; scripts/check_entry_points.ts checks the rest).
const rootExports = (pkg as { exports?: Record<string, string> }).exports;
if (JSON.stringify(rootExports) !== JSON.stringify(denoJson.exports)) {
  problems.push(
    `package.json exports ${JSON.stringify(rootExports)} differ from deno.json exports ` +
      JSON.stringify(denoJson.exports),
  );
}
if (problems.length) {
  console.error("build_npm: inconsistent metadata:\n  " + problems.join("\n  "));
  process.exit(1);
}

// 2. Compile (ESM + declarations + source maps) with the pinned tsc.
rmSync(outDir, { recursive: true, force: true });
const tscBin = join(root, "node_modules", "typescript", "bin", "tsc");
execFileSync(process.execPath, [tscBin, "-p", join(root, "tsconfig.build.json")], {
  stdio: "inherit",
  cwd: root,
});

// 3. tsc rewrites ".ts" -> ".js" in emitted JS but not in .d.ts: do it here.
const REL_TS = /((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']+?)\.(m|c)?ts(["'])/g;
let dtsFixed = 0;
for (const file of walk(join(outDir, "esm"))) {
  if (!file.endsWith(".d.ts")) continue;
  const src = readFileSync(file, "utf8");
  const out = src.replace(
    REL_TS,
    (_m, pre: string, p: string, mc: string | undefined, q: string) =>
      `${pre}${p}.${mc ?? ""}js${q}`,
  );
  if (out !== src) {
    writeFileSync(file, out);
    dtsFixed++;
  }
}

// 4. package.json for the published package. Each entry point of deno.json becomes the compiled
//    file ("./document.ts" -> "./esm/document.js" with its .d.ts); "./cli" is the bin's bundle.
const npmExports: Record<string, unknown> = {};
for (const [subpath, file] of Object.entries(denoJson.exports)) {
  const js = `./esm/${file.replace(/^\.\//, "").replace(/\.ts$/, ".js")}`;
  const types = js.replace(/\.js$/, ".d.ts");
  npmExports[subpath] = { types, import: js, default: js };
}
npmExports["./package.json"] = "./package.json";
const npmPkg = {
  name: pkg.name,
  version: pkg.version,
  description: pkg.description,
  license: pkg.license ?? "MIT",
  type: "module",
  main: "./esm/mod.js",
  types: "./esm/mod.d.ts",
  exports: npmExports,
  bin: BIN,
  files: ["esm", "README.md", "LICENSE", "docs/*.md"],
  sideEffects: false,
  // The root package.json's floor: 20.19 is the first Node 20 where require() of ESM works
  // without a flag, which is what lets CommonJS apps use this ESM-only package.
  engines: { node: pkg.engines?.["node"] ?? ">=20.19" },
  dependencies: pkg.dependencies ?? {},
};
writeFileSync(join(outDir, "package.json"), JSON.stringify(npmPkg, null, 2) + "\n");
for (const f of ["README.md", "LICENSE"]) {
  if (existsSync(join(root, f))) cpSync(join(root, f), join(outDir, f));
}
cpSync(join(root, "docs"), join(outDir, "docs"), {
  recursive: true,
  filter: (src) => statSync(src).isDirectory() || src.endsWith(".md"),
});
// 4b. The bin is one bundle (esbuild, exact-pinned devDependency; scripts/bin_bundle.ts, shared
//     with the Node test suite's CLI): sealfig's own modules, yaml and dotenv in one file; the
//     AWS SDK, zod and age-encryption stay lazy, external imports, and the build fails if one of
//     them was bundled.
try {
  buildBinBundle(join(outDir, BIN.sealfig));
} catch (err) {
  console.error(`build_npm: ${(err as Error).message}`);
  process.exit(1);
}
for (const bin of Object.values(BIN)) {
  const file = join(outDir, bin);
  const text = readFileSync(file, "utf8");
  if (!text.startsWith("#!")) writeFileSync(file, "#!/usr/bin/env node\n" + text);
  chmodSync(file, 0o755);
}

// 5. Every .js has a source map that carries its source (no .ts files ship), and no declaration
//    or source map points at a file that is not in the package.
const mapProblems: string[] = [];
for (const file of walk(join(outDir, "esm"))) {
  if (file.endsWith(".js")) {
    const map = `${file}.map`;
    if (!readFileSync(file, "utf8").includes(`//# sourceMappingURL=${basename(map)}`)) {
      mapProblems.push(`${relative(outDir, file)}: no sourceMappingURL`);
    } else if (!existsSync(map)) {
      mapProblems.push(`${relative(outDir, file)}: ${basename(map)} missing`);
    } else {
      const m = JSON.parse(readFileSync(map, "utf8")) as { sourcesContent?: unknown[] };
      if (!m.sourcesContent?.every((c) => typeof c === "string")) {
        mapProblems.push(`${relative(outDir, map)}: sources not inlined`);
      }
    }
  } else if (!file.endsWith(".js.map") && !file.endsWith(".d.ts")) {
    mapProblems.push(`${relative(outDir, file)}: unexpected file in esm/`);
  } else if (file.endsWith(".d.ts") && readFileSync(file, "utf8").includes("sourceMappingURL")) {
    mapProblems.push(`${relative(outDir, file)}: points at a declaration map that is not shipped`);
  }
}
if (mapProblems.length) {
  console.error("build_npm: bad output:\n  " + mapProblems.join("\n  "));
  process.exit(1);
}

// 6. Smoke test with the real node: each library entry point imports (and requires) with its
//    exports (the bin runs below; tests/consumer/run.ts checks every entry point as installed).
const smoke: Record<string, string[]> = {
  "mod.js": ["loadConfig", "createLoader", "LocalKeyProvider", "KmsKeyProvider"],
  "document.js": ["encryptValue", "decryptValue", "parseDocument", "Sealer"],
  "kms_server.js": ["startKmsServer"],
};
for (const [file, names] of Object.entries(smoke)) {
  const js = JSON.stringify(join(outDir, "esm", file));
  execFileSync(process.execPath, [
    "--input-type=module",
    "-e",
    `import { createRequire } from "node:module";
     const esm = await import(${js});
     const cjs = createRequire(import.meta.url)(${js});
     for (const n of ${JSON.stringify(names)}) {
       if (!esm[n] || esm[n] !== cjs[n]) { console.error("missing export " + n); process.exit(1); }
     }`,
  ], { stdio: "inherit" });
}
execFileSync(process.execPath, [join(outDir, BIN.sealfig), "--help"], { stdio: "ignore" });
console.log(
  `built ${relative(root, outDir)}/ (${pkg.name}@${pkg.version}); .d.ts files fixed: ${dtsFixed}`,
);

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else yield p;
  }
}
