// Bots: the list, the create form, and the editor (rendered from the field table) beside the playground.
import { html, useState, useEffect, useRef } from "./preact-htm.mjs";
import { api, enc } from "./api.mjs";
import { t, fieldLabel } from "./i18n.mjs";
import { BOT_FIELDS, BOT_GROUPS, getPath, setPath, toText, fromText, fieldOf, patchBody } from "./botfields.mjs";
import { Field, Heading, Notice, TextInput, useLoad, errorText } from "./ui.mjs";
import { Playground } from "./playground.mjs";

export function Bots() {
  const [open, setOpen] = useState(null);
  const [bots, error, reload] = useLoad(() => api("GET", "/v1/bots").then((r) => r.data));
  if (open) return html`<${BotScreen} id=${open} onBack=${() => { setOpen(null); reload(); }} />`;
  return html`<section aria-labelledby="bots-h">
    <${Heading}><span id="bots-h">${t("bots")}</span></${Heading}>
    <${Notice} kind="error">${errorText(error)}</${Notice}>
    <table class="list" aria-label=${t("bots")}>
      <thead><tr><th scope="col">${t("id")}</th><th scope="col">${t("name")}</th><th scope="col">${t("model")}</th><th scope="col">${t("enabled")}</th><th scope="col">${t("updated")}</th></tr></thead>
      <tbody>${(bots || []).map((b) => html`<tr>
        <td><button class="link" onClick=${() => setOpen(b.id)}>${b.id}</button></td>
        <td class="bot-name">${b.name ?? ""}</td><td>${b.model}</td><td>${b.enabled ? t("yes") : t("no")}</td><td>${b.updated_at}</td>
      </tr>`)}</tbody>
    </table>
    <${CreateBot} onCreated=${(id) => setOpen(id)} />
  </section>`;
}

function CreateBot({ onCreated }) {
  const [form, setForm] = useState({ id: "", name: "", rules: "", knowledge_base: "" });
  const [error, setError] = useState(null);
  const set = (key) => (value) => setForm({ ...form, [key]: value });
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    const body = { ...form, name: form.name || null };
    try { onCreated((await api("POST", "/v1/bots", { body })).id); } catch (e) { setError(e); }
  };
  const on = (param) => (error && (error.param || "").replace(/^body\./, "").split(".")[0] === param ? error.message : null);
  const general = error && !["id", "name", "rules", "knowledge_base"].includes((error.param || "").replace(/^body\./, "").split(".")[0]);
  return html`<form class="card" onSubmit=${submit} aria-labelledby="new-bot-h">
    <h3 id="new-bot-h">${t("new_bot")}</h3>
    <${TextInput} label=${t("id")} hint=${t("id_hint")} value=${form.id} onInput=${set("id")} error=${on("id")} required />
    <${TextInput} label=${fieldLabel("name")} value=${form.name} onInput=${set("name")} error=${on("name")} />
    <${Area} label=${fieldLabel("rules")} value=${form.rules} onInput=${set("rules")} error=${on("rules")} rows="4" />
    <${Area} label=${fieldLabel("knowledge_base")} value=${form.knowledge_base} onInput=${set("knowledge_base")} error=${on("knowledge_base")} rows="6" />
    ${general && html`<${Notice} kind="error">${error.message}</${Notice}>`}
    <button type="submit">${t("create_bot")}</button>
  </form>`;
}

function Area({ label, value, onInput, error, rows, count }) {
  const id = useRef("a-" + Math.random().toString(36).slice(2)).current;
  return html`<${Field} label=${label} error=${error} id=${id} count=${count}>
    ${(a) => html`<textarea ...${a} rows=${rows} value=${value} onInput=${(e) => onInput(e.target.value)}></textarea>`}
  </${Field}>`;
}

function BotScreen({ id, onBack }) {
  return html`<div class="bot-screen">
    <p><button class="link" onClick=${onBack}>← ${t("all_bots")}</button></p>
    <div class="split"><${BotEditor} id=${id} /><${Playground} botId=${id} /></div>
  </div>`;
}

function BotEditor({ id }) {
  const [bot, setBot] = useState(null);
  const [texts, setTexts] = useState({});
  const [errors, setErrors] = useState({});
  const [notice, setNotice] = useState(null);
  const load = async () => {
    try {
      const loaded = await api("GET", `/v1/bots/${enc(id)}`);
      setBot(loaded);
      setTexts(Object.fromEntries(fieldsOf(loaded).map((f) => [f.path, toText(f, getPath(loaded, f.path))])));
      setErrors({});
    } catch (e) { setNotice({ kind: "error", text: e.message }); }
  };
  useEffect(() => { load(); }, [id]);
  if (!bot) return html`<section class="editor"><${Notice} kind=${notice?.kind}>${notice?.text || t("loading")}</${Notice}></section>`;

  const save = async (event) => {
    event.preventDefault();
    setNotice(null);
    let edited = bot;
    const problems = {};
    for (const field of fieldsOf(bot)) {
      try { edited = setPath(edited, field.path, fromText(field, texts[field.path])); } catch (e) { problems[field.path] = t("bad_json") + ": " + e.message; }
    }
    setErrors(problems);
    if (Object.keys(problems).length) return;
    try {
      const saved = await api("PATCH", `/v1/bots/${enc(id)}`, { body: patchBody(bot, edited) });
      setBot(saved);
      setTexts(Object.fromEntries(fieldsOf(saved).map((f) => [f.path, toText(f, getPath(saved, f.path))])));
      setNotice({ kind: "ok", text: t("saved_version") + " " + saved.version });
    } catch (e) {
      if (e.conflict) return setNotice({ kind: "conflict", text: t("conflict") });
      const field = fieldOf(e.param, fieldsOf(bot));
      if (field) setErrors({ [field]: e.message });
      setNotice({ kind: "error", text: e.message });
    }
  };
  const remove = async () => {
    if (!confirm(t("confirm_delete_bot"))) return;
    try { await api("DELETE", `/v1/bots/${enc(id)}`); setNotice({ kind: "ok", text: t("deleted") }); } catch (e) { setNotice({ kind: "error", text: e.message }); }
  };
  const kbLength = (texts.knowledge_base || "").length;
  return html`<section class="editor" aria-labelledby="editor-h">
    <${Heading}><span id="editor-h">${t("bot")} <span class="bot-id">${bot.id}</span></span></${Heading}>
    <p class="meta">${t("version")} <span data-testid="bot-version">${bot.version}</span> · ${t("updated")} ${bot.updated_at}</p>
    <form onSubmit=${save} novalidate>
      ${BOT_GROUPS.map((group) => {
        const fields = fieldsOf(bot).filter((f) => f.group === group);
        return fields.length ? html`<fieldset><legend>${t("group_" + group)}</legend>
          ${fields.map((f) => html`<${BotField} field=${f} text=${texts[f.path]} error=${errors[f.path]}
            count=${f.counted ? html`<small class="count" aria-live="polite">${kbLength.toLocaleString()} ${t("characters")}</small>` : null}
            onInput=${(v) => setTexts({ ...texts, [f.path]: v })} />`)}
        </fieldset>` : null;
      })}
      ${notice && html`<div class=${"notice " + notice.kind} role=${notice.kind === "ok" ? "status" : "alert"}>${notice.text}
        ${notice.kind === "conflict" && html` <button type="button" onClick=${() => { setNotice(null); load(); }}>${t("reload")}</button>`}</div>`}
      <div class="actions"><button type="submit">${t("save")}</button> <button type="button" class="danger" onClick=${remove}>${t("delete")}</button></div>
    </form>
  </section>`;
}

// The table's fields, less the optional ones this API version does not answer.
const fieldsOf = (bot) => BOT_FIELDS.filter((f) => !f.optional || getPath(bot, f.path) !== undefined);

function BotField({ field, text, error, onInput, count }) {
  const id = "bot-" + field.path.replace(/\./g, "-");
  const label = fieldLabel(field.path);
  return html`<${Field} label=${label} error=${error} id=${id} count=${count} hint=${field.kind === "lines" ? t("one_per_line") : field.kind === "json" ? t("json_hint") : null}>
    ${(a) => {
      if (field.kind === "bool") return html`<select ...${a} value=${text} onChange=${(e) => onInput(e.target.value)}>
        <option value="true">${t("yes")}</option><option value="false">${t("no")}</option></select>`;
      if (field.kind === "select") return html`<select ...${a} value=${text} onChange=${(e) => onInput(e.target.value)}>
        ${field.options.map((o) => html`<option value=${o}>${o}</option>`)}</select>`;
      if (["textarea", "lines", "json"].includes(field.kind)) return html`<textarea ...${a} rows=${field.rows || 4} value=${text} onInput=${(e) => onInput(e.target.value)}></textarea>`;
      return html`<input ...${a} type=${field.kind === "number" ? "number" : "text"} step=${field.step} value=${text} onInput=${(e) => onInput(e.target.value)} />`;
    }}
  </${Field}>`;
}
