import { pino } from "pino";
import type { DestinationStream, Logger as PinoLogger } from "pino";

/** JSON logs, one child per delivery or job. Known secret fields are redacted. */
export function createLogger(level: string, destination?: DestinationStream): PinoLogger {
  const options = {
    level,
    base: { service: "octostage" },
    redact: {
      paths: [
        "privateKey",
        "*.privateKey",
        "token",
        "*.token",
        "secret",
        "*.secret",
        "values",
        "*.values",
        "err.request.headers.authorization",
        "err.response.headers.authorization",
        "*.headers.authorization",
        "headers.authorization",
      ],
      censor: "[REDACTED]",
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
