/**
 * Limits on `/octo` commands, so one PR comment cannot grow a staging's values without bound
 * (a comment is at most 65,536 characters on GitHub, and every override is stored, shown by
 * `/octo config` and written to the audit log):
 *
 * - a key (dotted values path such as `image.tag` or `env[0].value`) is at most 128 characters;
 * - a value is at most 1,024 characters (after quotes and escapes are resolved);
 * - one `override` or `unset` command takes at most 20 key=value pairs or keys;
 * - one comment runs at most 10 commands; the lines after the 10th are reported, not run;
 * - a list index in a key is at most 999, so `a[4000000000]=x` cannot build a huge list.
 */
export interface CommandLimits {
  maxKeyLength: number;
  maxValueLength: number;
  maxPairsPerCommand: number;
  maxCommandsPerComment: number;
  maxListIndex: number;
}

export const commandLimits: Readonly<CommandLimits> = Object.freeze({
  maxKeyLength: 128,
  maxValueLength: 1024,
  maxPairsPerCommand: 20,
  maxCommandsPerComment: 10,
  maxListIndex: 999,
});

/** Cuts user input quoted back in a message, so an error never echoes a whole line. */
export function clipInput(text: string, max = 40): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
