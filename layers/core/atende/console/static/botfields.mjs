// Every editable field of a bot, once: the editor renders from this table, so a new field is one line.
// kind: text | textarea | number | bool | select | lines (a list of strings, one per line) | json
export const BOT_GROUPS = ["general", "persona", "prompts", "handoff", "instant", "moderation", "model", "advanced"];

export const BOT_FIELDS = [
  { path: "name", kind: "text", group: "general", nullable: true },
  { path: "enabled", kind: "bool", group: "general" },
  { path: "language", kind: "select", group: "general", options: ["en", "es", "pt"], optional: true },
  { path: "rules", kind: "textarea", group: "persona", rows: 6 },
  { path: "knowledge_base", kind: "textarea", group: "persona", rows: 10, counted: true },
  { path: "prompts", kind: "json", group: "prompts", empty: {} },
  { path: "default_prompts", kind: "lines", group: "prompts" },
  { path: "handoff.keywords", kind: "lines", group: "handoff" },
  { path: "handoff.sentinel", kind: "text", group: "handoff", nullable: true },
  { path: "handoff.tool", kind: "bool", group: "handoff" },
  { path: "handoff.on_upstream_failure", kind: "bool", group: "handoff" },
  { path: "handoff.message", kind: "text", group: "handoff", nullable: true },
  { path: "handoff.on_limit_refusal", kind: "select", group: "handoff", options: ["handoff", "error"], optional: true },
  { path: "handoff.limit_message", kind: "text", group: "handoff", nullable: true, optional: true },
  { path: "instant_answers", kind: "json", group: "instant", empty: [] },
  { path: "moderation.mode", kind: "select", group: "moderation", options: ["off", "input", "output", "both"] },
  { path: "moderation.thresholds", kind: "json", group: "moderation", empty: {} },
  { path: "moderation.on_flagged_input", kind: "select", group: "moderation", options: ["refuse", "handoff"] },
  { path: "moderation.refusal_message", kind: "text", group: "moderation", nullable: true },
  { path: "moderation.fail_mode", kind: "select", group: "moderation", options: ["open", "closed"] },
  { path: "redact_pii", kind: "bool", group: "moderation" },
  { path: "model", kind: "text", group: "model" },
  { path: "provider", kind: "text", group: "model" },
  { path: "sampling.temperature", kind: "number", group: "model", step: "0.1" },
  { path: "sampling.top_p", kind: "number", group: "model", step: "0.05" },
  { path: "sampling.frequency_penalty", kind: "number", group: "model", step: "0.1" },
  { path: "sampling.presence_penalty", kind: "number", group: "model", step: "0.1" },
  { path: "sampling.max_tokens", kind: "number", group: "model", step: "1" },
  { path: "sampling.response_format", kind: "json", group: "model", empty: "text" },
  { path: "fallbacks", kind: "json", group: "model", empty: [] },
  { path: "history.max_history_tokens", kind: "number", group: "advanced", step: "1" },
  { path: "history.summarize", kind: "bool", group: "advanced" },
  { path: "deadline_seconds", kind: "number", group: "advanced", step: "1" },
];

export function getPath(object, path) {
  return path.split(".").reduce((value, key) => (value == null ? undefined : value[key]), object);
}

export function setPath(object, path, value) {
  const keys = path.split(".");
  const copy = structuredClone(object);
  let node = copy;
  for (const key of keys.slice(0, -1)) node = node[key] = node[key] && typeof node[key] === "object" ? node[key] : {};
  node[keys.at(-1)] = value;
  return copy;
}

// The text a control shows for a stored value, and the value its text stands for (throws on bad JSON).
export function toText(field, value) {
  if (field.kind === "lines") return (value || []).join("\n");
  if (field.kind === "json") return JSON.stringify(value ?? field.empty, null, 2);
  if (value === null || value === undefined) return "";
  return String(value);
}

export function fromText(field, text) {
  switch (field.kind) {
    case "lines": return text.split("\n").map((s) => s.trim()).filter(Boolean);
    case "json": return text.trim() ? JSON.parse(text) : field.empty;
    case "bool": return text === "true";
    case "number": return text.trim() === "" ? null : Number(text);
    case "text": return text === "" && field.nullable ? null : text;
    default: return text;
  }
}

// The field an API error is about: the longest field path its `param` starts with.
export function fieldOf(param, fields = BOT_FIELDS) {
  if (!param) return null;
  const name = param.replace(/^body\./, "");
  const match = fields
    .filter((f) => name === f.path || name.startsWith(f.path + "."))
    .sort((a, b) => b.path.length - a.path.length)[0];
  return match ? match.path : null;
}

// A PATCH that names each changed top-level field with its whole value: nested objects are sent whole, so
// the result is the same whether the API merges them (JSON Merge Patch) or replaces them.
export function patchBody(original, edited) {
  const body = { version: original.version };
  for (const key of Object.keys(edited)) {
    if (["id", "version", "created_at", "updated_at"].includes(key)) continue;
    if (JSON.stringify(edited[key]) !== JSON.stringify(original[key])) body[key] = edited[key];
  }
  return body;
}
