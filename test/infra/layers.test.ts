/**
 * @module The layer rule in eslint.config.mjs bites (a module importing a layer above it, or an SDK
 * outside src/azure and the components, fails `npm run lint`), and the folders under src/ import each
 * other without a cycle.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const REPO = path.resolve(__dirname, "../..");
const SRC = path.join(REPO, "src");

async function restricted(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: REPO });
  const [result] = await eslint.lintText(code, { filePath: path.join(REPO, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith(".ts") ? [full] : [];
  });
}

/**
 * The unit a cycle is looked for in: a top-level folder under src/ (a layer), and under `components/`
 * each kind and the registry, which stand apart (the registry sits above every provider).
 */
function unitOf(file: string): string {
  const parts = path.relative(SRC, file).split(path.sep);
  if (parts.length === 1) return path.basename(file, ".ts");
  if (parts[0] === "components" && parts.length > 2) return `components/${parts[1]}`;
  return parts[0] ?? "";
}

/** Unit → the units its modules import (relative imports, types included). */
function unitGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(SRC)) {
    const from = unitOf(file);
    const edges = graph.get(from) ?? new Set<string>();
    graph.set(from, edges);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|require\(\s*)"(\.{1,2}\/[^"]*)"/g)) {
      const to = unitOf(`${path.resolve(path.dirname(file), m[1] ?? "")}.ts`);
      if (to !== from) edges.add(to);
    }
  }
  return graph;
}

/** One cycle of the graph as a path, or undefined. */
function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === "done") return undefined;
    if (state.get(node) === "open") return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle !== undefined) return cycle;
    }
    stack.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

describe("layers", () => {
  it("lint refuses an import of a layer above, and an SDK outside src/azure and the components", async () => {
    expect(await restricted("src/azure/layerProbe.ts", 'export { route } from "../api/router";\n')).toEqual([expect.stringContaining('layer "azure" must not import from a layer above it')]);
    expect(await restricted("src/runtime/layerProbe.ts", 'import type { Route } from "../api/router";\nexport type R = Route;\n')).toHaveLength(1);
    expect(await restricted("src/config/layerProbe.ts", 'export { createApp } from "../app";\n')).toHaveLength(1);
    expect(await restricted("src/api/layerProbe.ts", 'export { BlobServiceClient } from "@azure/storage-blob";\n')).toEqual([expect.stringContaining("reaches Azure only through src/azure")]);
    // Downwards is fine.
    expect(await restricted("src/api/layerProbe.ts", 'export type { Runtime } from "../runtime/runtime";\n')).toEqual([]);
  }, 60_000);

  it("no cycle between the folders under src/ (layers, and each component kind and the registry)", () => {
    const graph = unitGraph();
    expect([...graph.keys()]).toEqual(expect.arrayContaining(["api", "runtime", "azure", "rotation", "components/state", "components/secretstores", "components/registry"]));
    expect(findCycle(graph)).toBeUndefined();
    // The search itself finds one where there is one (api ⇄ runtime, as before the layers were fixed).
    const broken = new Map(graph);
    broken.set("runtime", new Set([...(graph.get("runtime") ?? []), "api"]));
    expect(findCycle(broken)).toEqual(expect.arrayContaining(["api", "runtime"]));
  });
});
