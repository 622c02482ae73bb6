/** Removes secrets from text that leaves the process boundary: the one redactor, src/domain/redact.ts. */
export { redactAroundCut, redactText } from "../../domain/redact.ts";
