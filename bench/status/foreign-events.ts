// What one watch event of another team's pod costs the worker once its bytes have arrived, in
// this process (no network): before issue 14 every event was parsed (client-node's Watch),
// trimmed and cached, and reported to the observer (which then read Postgres for that
// namespace); now the informer reads the event's namespace from the bytes and drops it. The
// network, the HTTP parser and the line splitting cost the same either way and are left out.
import { scanWatchEvent } from "../../src/adapters/kube/json-scan.ts";
import { trimPod } from "../../src/adapters/kube/pod-snapshot.ts";
import { realisticPod } from "../../test/support/realistic-pod.ts";

export interface ForeignEventResult {
  events: number;
  bytesPerEvent: number;
  /** µs per event: JSON.parse + trimPod (what the informer did before it could tell the event was foreign). */
  parseAndTrimUs: number;
  /** µs per event: reading type, namespace and resourceVersion from the bytes, and the scope check. */
  scanUs: number;
}

function timeUs(n: number, run: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 2000); i++) run(i); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) run(i);
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

export function runForeignEvents(events = 20_000): ForeignEventResult {
  // 100 distinct pods (different names and resourceVersions), each as a MODIFIED watch event line.
  const lines = Array.from({ length: 100 }, (_, i) => {
    const pod = realisticPod(`team-${i % 50}`, `api-${i}-7f9c5d8b6-x2k4p`, { app: "api", ready: i % 2 === 0 }) as { metadata: { resourceVersion: string } };
    pod.metadata.resourceVersion = String(48_213_377 + i);
    return Buffer.from(JSON.stringify({ type: "MODIFIED", object: pod }));
  });
  const staging = new Set(["octostage-web-pr-1"]);
  let sink = 0;
  const parseAndTrimUs = timeUs(events, (i) => {
    const event = JSON.parse(lines[i % lines.length]!.toString("utf8")) as { object: Parameters<typeof trimPod>[0] };
    sink += trimPod(event.object).metadata?.name?.length ?? 0;
  });
  const scanUs = timeUs(events, (i) => {
    const head = scanWatchEvent(lines[i % lines.length]!);
    if (head.namespace !== undefined && !staging.has(head.namespace)) sink += head.resourceVersion?.length ?? 0;
  });
  if (sink < 0) throw new Error("unreachable");
  return { events, bytesPerEvent: Math.round(lines.reduce((n, l) => n + l.length, 0) / lines.length), parseAndTrimUs, scanUs };
}
