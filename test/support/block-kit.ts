/**
 * Slack's documented Block Kit limits, checked the way Slack checks them before it accepts a message
 * or a view: each problem is a string in Slack's own form, "<what> [json-pointer:/blocks/0/text/text]"
 * (as in the `errors` of an `invalid_blocks` answer or the `response_metadata.messages` of views.*).
 *
 * Sources: docs.slack.dev Block Kit reference (blocks, block elements, composition objects, modal
 * views) and the limits restated in @slack/types' JSDoc. Covered: block counts per surface, block_id
 * (≤ 255, unique), action_id (≤ 255, unique in the block set), section, header, context, actions,
 * divider, image, input, markdown, rich_text (shape only); buttons, selects (static and the
 * users/conversations/channels/external kinds), overflow, radio buttons, checkboxes, date/time
 * pickers, the text/number/email/url/file inputs, workflow buttons; text objects (plain_text where
 * Slack requires it, 1..3000 characters), confirmation dialogs, options and option groups; modal
 * views (title, submit, close, private_metadata, callback_id, external_id, submit with inputs).
 * Not covered: the newest blocks (alert, card, carousel, container, data_table, table, task_card,
 * plan, video, context_actions) are accepted by type only; rich_text internals; Slack's overall
 * payload size limits.
 */

export type BlockSurface = "message" | "modal";

/** Limit on a message's top-level `text` (Slack answers msg_too_long beyond it). */
export const messageTextLimit = 40_000;

const maxBlocks: Record<BlockSurface, number> = { message: 50, modal: 100 };

/** Blocks by surface. `file` blocks only appear in messages Slack returns: apps cannot post them. */
const messageBlocks = new Set([
  "actions", "context", "divider", "header", "image", "input", "markdown", "rich_text", "section", "video",
  "table", "context_actions", "alert", "card", "carousel", "container", "data_table", "task_card", "plan",
]);
const modalBlocks = new Set(["actions", "context", "divider", "header", "image", "input", "rich_text", "section", "video", "alert", "container"]);
const shapeOnlyBlocks = new Set(["video", "table", "context_actions", "alert", "card", "carousel", "container", "data_table", "task_card", "plan"]);

const selectTypes = ["static_select", "external_select", "users_select", "conversations_select", "channels_select"];
const multiSelectTypes = selectTypes.map((t) => `multi_${t}`);
const actionsElements = new Set([
  "button", "checkboxes", "datepicker", "datetimepicker", "overflow", "radio_buttons", "timepicker", "workflow_button", "rich_text_input",
  ...selectTypes, ...multiSelectTypes,
]);
const accessoryElements = new Set([
  "button", "checkboxes", "datepicker", "image", "overflow", "radio_buttons", "timepicker", "workflow_button", ...selectTypes, ...multiSelectTypes,
]);
const inputElements = new Set([
  "checkboxes", "datepicker", "datetimepicker", "email_text_input", "file_input", "number_input", "plain_text_input", "radio_buttons",
  "rich_text_input", "timepicker", "url_text_input", ...selectTypes, ...multiSelectTypes,
]);
const knownElements = new Set([...actionsElements, ...accessoryElements, ...inputElements, "feedback_buttons", "icon_button"]);

type Problems = string[];
const at = (pointer: string) => `[json-pointer:${pointer}]`;
const isObject = (v: unknown): v is Record<string, any> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Checks a string field's presence and length. */
function checkString(problems: Problems, value: unknown, pointer: string, max: number, required = false, min = 0): void {
  if (value === undefined) {
    if (required) problems.push(`missing required field ${at(pointer)}`);
    return;
  }
  if (typeof value !== "string") {
    problems.push(`must be a string ${at(pointer)}`);
    return;
  }
  if (value.length > max) problems.push(`must be less than ${max + 1} characters ${at(pointer)}`);
  if (value.length < min) problems.push(`must be more than ${min - 1} characters ${at(pointer)}`);
}

/** A text object: {type: plain_text|mrkdwn, text (1..max)}; `plainOnly` where Slack requires plain_text. */
function checkText(problems: Problems, value: unknown, pointer: string, max: number, opts: { plainOnly?: boolean; required?: boolean } = {}): void {
  if (value === undefined) {
    if (opts.required) problems.push(`missing required field ${at(pointer)}`);
    return;
  }
  if (!isObject(value)) {
    problems.push(`must be a text object ${at(pointer)}`);
    return;
  }
  if (value.type !== "plain_text" && value.type !== "mrkdwn") {
    problems.push(`must be one of plain_text, mrkdwn ${at(`${pointer}/type`)}`);
    return;
  }
  if (opts.plainOnly && value.type !== "plain_text") problems.push(`must be plain_text ${at(`${pointer}/type`)}`);
  if (value.type === "mrkdwn" && "emoji" in value) problems.push(`emoji is only allowed on plain_text ${at(`${pointer}/emoji`)}`);
  if (value.type === "plain_text" && "verbatim" in value) problems.push(`verbatim is only allowed on mrkdwn ${at(`${pointer}/verbatim`)}`);
  checkString(problems, value.text, `${pointer}/text`, max, true, 1);
}

function checkConfirm(problems: Problems, value: unknown, pointer: string): void {
  if (value === undefined) return;
  if (!isObject(value)) {
    problems.push(`must be a confirmation dialog object ${at(pointer)}`);
    return;
  }
  checkText(problems, value.title, `${pointer}/title`, 100, { plainOnly: true });
  checkText(problems, value.text, `${pointer}/text`, 300, { required: true });
  checkText(problems, value.confirm, `${pointer}/confirm`, 30, { plainOnly: true });
  checkText(problems, value.deny, `${pointer}/deny`, 30, { plainOnly: true });
  if (value.style !== undefined && value.style !== "primary" && value.style !== "danger") problems.push(`must be one of primary, danger ${at(`${pointer}/style`)}`);
}

/** One option object; select menus and overflow menus need plain_text option text. */
function checkOption(problems: Problems, value: unknown, pointer: string, plainOnly: boolean): void {
  if (!isObject(value)) {
    problems.push(`must be an option object ${at(pointer)}`);
    return;
  }
  checkText(problems, value.text, `${pointer}/text`, 75, { plainOnly, required: true });
  checkString(problems, value.value, `${pointer}/value`, 150);
  checkText(problems, value.description, `${pointer}/description`, 75, { plainOnly: true });
  checkString(problems, value.url, `${pointer}/url`, 3000);
}

function checkOptions(problems: Problems, options: unknown, pointer: string, max: number, plainOnly: boolean, required = true): unknown[] {
  if (options === undefined) {
    if (required) problems.push(`missing required field ${at(pointer)}`);
    return [];
  }
  if (!Array.isArray(options)) {
    problems.push(`must be an array ${at(pointer)}`);
    return [];
  }
  if (options.length === 0) problems.push(`must provide at least 1 items ${at(pointer)}`);
  if (options.length > max) problems.push(`no more than ${max} items allowed ${at(pointer)}`);
  options.forEach((o, i) => checkOption(problems, o, `${pointer}/${i}`, plainOnly));
  return [...options];
}

/** An initial option must be one of the element's options (Slack compares value and text). */
function checkInitialOptions(problems: Problems, initial: unknown, options: unknown[], pointer: string): void {
  if (initial === undefined) return;
  const candidates = Array.isArray(initial) ? initial : [initial];
  candidates.forEach((candidate, i) => {
    const found = options.some((o) => isObject(o) && isObject(candidate) && o.value === candidate.value && o.text?.text === candidate.text?.text);
    if (!found) problems.push(`must match one of the options ${at(Array.isArray(initial) ? `${pointer}/${i}` : pointer)}`);
  });
}

interface Context {
  problems: Problems;
  actionIds: Map<string, string>;
}

function checkElement(ctx: Context, element: unknown, pointer: string, allowed: Set<string>, where: string): void {
  const { problems } = ctx;
  if (!isObject(element)) {
    problems.push(`must be an element object ${at(pointer)}`);
    return;
  }
  const type = element.type;
  if (typeof type !== "string" || !knownElements.has(type)) {
    problems.push(`unsupported type: ${String(type)} ${at(`${pointer}/type`)}`);
    return;
  }
  if (!allowed.has(type)) {
    problems.push(`${type} is not allowed in ${where} ${at(`${pointer}/type`)}`);
    return;
  }
  if (element.action_id !== undefined) {
    checkString(problems, element.action_id, `${pointer}/action_id`, 255, false, 1);
    if (typeof element.action_id === "string") {
      const first = ctx.actionIds.get(element.action_id);
      if (first !== undefined) problems.push(`action_id ${element.action_id} is already used at ${first} ${at(`${pointer}/action_id`)}`);
      else ctx.actionIds.set(element.action_id, pointer);
    }
  }
  checkConfirm(problems, element.confirm, `${pointer}/confirm`);
  if (element.placeholder !== undefined) checkText(problems, element.placeholder, `${pointer}/placeholder`, 150, { plainOnly: true });
  switch (type) {
    case "button":
    case "workflow_button":
      checkText(problems, element.text, `${pointer}/text`, 75, { plainOnly: true, required: true });
      checkString(problems, element.value, `${pointer}/value`, 2000);
      checkString(problems, element.url, `${pointer}/url`, 3000);
      checkString(problems, element.accessibility_label, `${pointer}/accessibility_label`, 75);
      if (element.style !== undefined && element.style !== "primary" && element.style !== "danger") problems.push(`must be one of primary, danger ${at(`${pointer}/style`)}`);
      break;
    case "static_select":
    case "multi_static_select": {
      if ((element.options === undefined) === (element.option_groups === undefined)) {
        problems.push(`must provide exactly one of options, option_groups ${at(pointer)}`);
      }
      const options = element.options === undefined ? [] : checkOptions(problems, element.options, `${pointer}/options`, 100, true);
      if (element.option_groups !== undefined) {
        if (!Array.isArray(element.option_groups)) problems.push(`must be an array ${at(`${pointer}/option_groups`)}`);
        else {
          if (element.option_groups.length > 100) problems.push(`no more than 100 items allowed ${at(`${pointer}/option_groups`)}`);
          element.option_groups.forEach((g: unknown, i: number) => {
            const gp = `${pointer}/option_groups/${i}`;
            if (!isObject(g)) return void problems.push(`must be an option group object ${at(gp)}`);
            checkText(problems, g.label, `${gp}/label`, 75, { plainOnly: true, required: true });
            options.push(...checkOptions(problems, g.options, `${gp}/options`, 100, true));
          });
        }
      }
      checkInitialOptions(problems, type === "static_select" ? element.initial_option : element.initial_options, options, `${pointer}/${type === "static_select" ? "initial_option" : "initial_options"}`);
      break;
    }
    case "overflow":
      checkOptions(problems, element.options, `${pointer}/options`, 5, true);
      break;
    case "radio_buttons":
    case "checkboxes": {
      const options = checkOptions(problems, element.options, `${pointer}/options`, 10, false);
      checkInitialOptions(problems, type === "radio_buttons" ? element.initial_option : element.initial_options, options, `${pointer}/${type === "radio_buttons" ? "initial_option" : "initial_options"}`);
      break;
    }
    case "plain_text_input": {
      for (const field of ["min_length", "max_length"] as const) {
        const v: unknown = element[field];
        if (v === undefined) continue;
        if (typeof v !== "number" || !Number.isInteger(v) || v < 0) problems.push(`must be a non-negative integer ${at(`${pointer}/${field}`)}`);
        else if (v > 3000) problems.push(`must be no more than 3000 ${at(`${pointer}/${field}`)}`);
      }
      if (typeof element.min_length === "number" && typeof element.max_length === "number" && element.min_length > element.max_length) {
        problems.push(`min_length must not be greater than max_length ${at(pointer)}`);
      }
      if (typeof element.max_length === "number") checkString(problems, element.initial_value, `${pointer}/initial_value`, element.max_length);
      break;
    }
    case "image":
      checkString(problems, element.alt_text, `${pointer}/alt_text`, 2000, true);
      if (element.image_url === undefined && element.slack_file === undefined) problems.push(`must provide either image_url or slack_file ${at(pointer)}`);
      checkString(problems, element.image_url, `${pointer}/image_url`, 3000);
      break;
    case "external_select":
    case "multi_external_select":
      if (element.min_query_length !== undefined && (typeof element.min_query_length !== "number" || element.min_query_length < 0)) {
        problems.push(`must be a non-negative number ${at(`${pointer}/min_query_length`)}`);
      }
      break;
    default:
      break;
  }
  if (type.startsWith("multi_") && element.max_selected_items !== undefined && (typeof element.max_selected_items !== "number" || element.max_selected_items < 1)) {
    problems.push(`must be at least 1 ${at(`${pointer}/max_selected_items`)}`);
  }
}

/** A block's `elements`: present, 1 to `max` of them (problems recorded); true when there are some to check. */
function elementsWithin(problems: Problems, block: Record<string, any>, pointer: string, max: number): boolean {
  if (!Array.isArray(block.elements)) {
    problems.push(`missing required field ${at(`${pointer}/elements`)}`);
    return false;
  }
  if (block.elements.length === 0) problems.push(`must provide at least 1 items ${at(`${pointer}/elements`)}`);
  if (block.elements.length > max) problems.push(`no more than ${max} items allowed ${at(`${pointer}/elements`)}`);
  return true;
}

function checkBlock(ctx: Context, block: unknown, pointer: string, surface: BlockSurface, blockIds: Map<string, string>): void {
  const { problems } = ctx;
  if (!isObject(block)) {
    problems.push(`must be a block object ${at(pointer)}`);
    return;
  }
  const type = block.type;
  const allowed = surface === "message" ? messageBlocks : modalBlocks;
  if (typeof type !== "string" || !(messageBlocks.has(type) || modalBlocks.has(type) || type === "file")) {
    problems.push(`unsupported type: ${String(type)} ${at(`${pointer}/type`)}`);
    return;
  }
  if (!allowed.has(type)) {
    problems.push(`${type} blocks are not allowed in a ${surface} ${at(`${pointer}/type`)}`);
    return;
  }
  if (block.block_id !== undefined) {
    checkString(problems, block.block_id, `${pointer}/block_id`, 255, false, 1);
    if (typeof block.block_id === "string") {
      const first = blockIds.get(block.block_id);
      if (first !== undefined) problems.push(`duplicate block_id ${block.block_id} (first at ${first}) ${at(`${pointer}/block_id`)}`);
      else blockIds.set(block.block_id, pointer);
    }
  }
  if (shapeOnlyBlocks.has(type)) return;
  switch (type) {
    case "section": {
      if (block.text === undefined && block.fields === undefined) problems.push(`must define either \`text\` or \`fields\` ${at(pointer)}`);
      checkText(problems, block.text, `${pointer}/text`, 3000);
      if (block.fields !== undefined) {
        if (!Array.isArray(block.fields)) problems.push(`must be an array ${at(`${pointer}/fields`)}`);
        else {
          if (block.fields.length > 10) problems.push(`no more than 10 items allowed ${at(`${pointer}/fields`)}`);
          block.fields.forEach((f: unknown, i: number) => checkText(problems, f, `${pointer}/fields/${i}`, 2000, { required: true }));
        }
      }
      if (block.accessory !== undefined) checkElement(ctx, block.accessory, `${pointer}/accessory`, accessoryElements, "a section accessory");
      break;
    }
    case "header":
      checkText(problems, block.text, `${pointer}/text`, 150, { plainOnly: true, required: true });
      break;
    case "context":
      if (elementsWithin(problems, block, pointer, 10)) {
        block.elements.forEach((e: unknown, i: number) => {
          const ep = `${pointer}/elements/${i}`;
          if (isObject(e) && e.type === "image") checkElement(ctx, e, ep, new Set(["image"]), "a context block");
          else checkText(problems, e, ep, 3000, { required: true });
        });
      }
      break;
    case "actions":
      if (elementsWithin(problems, block, pointer, 25)) {
        block.elements.forEach((e: unknown, i: number) => checkElement(ctx, e, `${pointer}/elements/${i}`, actionsElements, "an actions block"));
      }
      break;
    case "divider":
      break;
    case "image":
      checkString(problems, block.alt_text, `${pointer}/alt_text`, 2000, true);
      checkText(problems, block.title, `${pointer}/title`, 2000, { plainOnly: true });
      if (block.image_url === undefined && block.slack_file === undefined) problems.push(`must provide either image_url or slack_file ${at(pointer)}`);
      checkString(problems, block.image_url, `${pointer}/image_url`, 3000);
      break;
    case "input":
      checkText(problems, block.label, `${pointer}/label`, 2000, { plainOnly: true, required: true });
      checkText(problems, block.hint, `${pointer}/hint`, 2000, { plainOnly: true });
      if (block.element === undefined) problems.push(`missing required field ${at(`${pointer}/element`)}`);
      else checkElement(ctx, block.element, `${pointer}/element`, inputElements, "an input block");
      break;
    case "markdown":
      checkString(problems, block.text, `${pointer}/text`, 12_000, true, 1);
      break;
    case "rich_text":
      if (!Array.isArray(block.elements)) problems.push(`missing required field ${at(`${pointer}/elements`)}`);
      break;
    default:
      break;
  }
}

/**
 * Problems Slack would report for `blocks` on `surface` (empty when Slack would accept them).
 * `pointer` is where the array sits in the request (`/blocks`, or `/view/blocks` for views).
 */
export function blockKitProblems(blocks: unknown[], surface: BlockSurface, pointer = "/blocks"): string[] {
  const problems: Problems = [];
  if (!Array.isArray(blocks)) return [`must be an array ${at(pointer)}`];
  if (blocks.length > maxBlocks[surface]) problems.push(`no more than ${maxBlocks[surface]} items allowed ${at(pointer)}`);
  const ctx: Context = { problems, actionIds: new Map() };
  const blockIds = new Map<string, string>();
  blocks.forEach((block, i) => checkBlock(ctx, block, `${pointer}/${i}`, surface, blockIds));
  return problems;
}

/** Problems Slack would report for a modal `view` object (views.open / update / push), blocks included. */
export function modalViewProblems(view: unknown, pointer = "/view"): string[] {
  if (!isObject(view)) return [`must be a view object ${at(pointer)}`];
  const problems: Problems = [];
  if (view.type !== "modal") problems.push(`must be modal ${at(`${pointer}/type`)}`);
  checkText(problems, view.title, `${pointer}/title`, 24, { plainOnly: true, required: true });
  checkText(problems, view.submit, `${pointer}/submit`, 24, { plainOnly: true });
  checkText(problems, view.close, `${pointer}/close`, 24, { plainOnly: true });
  checkString(problems, view.private_metadata, `${pointer}/private_metadata`, 3000);
  checkString(problems, view.callback_id, `${pointer}/callback_id`, 255);
  checkString(problems, view.external_id, `${pointer}/external_id`, 255);
  if (!Array.isArray(view.blocks)) {
    problems.push(`missing required field ${at(`${pointer}/blocks`)}`);
    return problems;
  }
  problems.push(...blockKitProblems(view.blocks, "modal", `${pointer}/blocks`));
  if (view.submit === undefined && view.blocks.some((b: unknown) => isObject(b) && b.type === "input")) {
    problems.push(`submit is required when an input block is within the blocks array ${at(`${pointer}/submit`)}`);
  }
  return problems;
}
