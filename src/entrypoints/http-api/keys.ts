/** The chart keys of a project, as the API serves them (src/app/chart-keys.ts computes them). */
import type { ChartSource } from "../../domain/settings.ts";

interface ChartKey {
  key: string;
  type: string;
  default?: unknown;
  description?: string;
}

export interface KeysProvider {
  keysOf(chart: ChartSource): Promise<{ ok: true; value: { keys: ChartKey[]; schema: unknown } } | { ok: false; message: string }>;
}
