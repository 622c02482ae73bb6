// Reads a V8 .cpuprofile (node --cpu-prof) and lists where the samples fell: self time by
// function and by package (node_modules/<pkg>, src/, node: internals, GC, idle).
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

interface ProfileRow {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Samples in (idle) excluded: the time the process had nothing to do. */
  busyMs: number;
  byFunction: ProfileRow[];
  byArea: ProfileRow[];
}

function areaOf(url: string, fn: string): string {
  if (fn === "(garbage collector)") return "GC";
  if (fn === "(idle)" || fn === "(program)" || fn === "(root)") return fn;
  if (!url) return "(native)";
  if (url.startsWith("node:")) return "node: internals";
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "/node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = url.indexOf("/src/");
  if (src >= 0) return `src/${url.slice(src + 5).split("/")[0]}`;
  return url.replace(/^file:\/\//, "");
}

/** Self time between `fromEpochMs` and `toEpochMs` (the profile's clock is microseconds since an arbitrary origin; `originEpochMs` maps it). */
export function summarizeProfile(path: string, window?: { fromMs: number; toMs: number; profileStartEpochMs: number }): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const delta = profile.timeDeltas[i + 1] ?? 0;
    if (window) {
      const epoch = window.profileStartEpochMs + (t - profile.startTime) / 1000;
      if (epoch < window.fromMs || epoch > window.toMs) continue;
    }
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + delta / 1000);
  }
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, msSelf] of self) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    total += msSelf;
    if (functionName === "(idle)") idle += msSelf;
    const file = url.replace(/^file:\/\//, "").replace(/^.*\/node_modules\//, "");
    const key = `${functionName || "(anonymous)"} ${file ? `${file}:${lineNumber + 1}` : ""}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + msSelf);
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + msSelf);
  }
  const busy = total - idle;
  const rows = (m: Map<string, number>, n: number): ProfileRow[] =>
    [...m.entries()]
      .filter(([name]) => name !== "(idle)" && !name.startsWith("(idle) "))
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, v]) => ({ name, ms: v, share: busy > 0 ? v / busy : 0 }));
  return { totalMs: total, busyMs: busy, byFunction: rows(fns, 25), byArea: rows(areas, 20) };
}
