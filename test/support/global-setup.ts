// Runs once before the suites: makes sure Postgres and Redis answer, so a missing
// service fails fast with a clear message instead of as 30 s timeouts.
import net from "node:net";

function probe(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 2000 });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export default async function setup(): Promise<void> {
  const missing: string[] = [];
  if (!(await probe("127.0.0.1", 5432))) missing.push("PostgreSQL on 127.0.0.1:5432");
  if (!(await probe("127.0.0.1", 6379))) missing.push("Redis on 127.0.0.1:6379");
  if (missing.length) {
    throw new Error(`Tests need ${missing.join(" and ")}. Run \`bash scripts/setup.sh\` to start or install them.`);
  }
}
