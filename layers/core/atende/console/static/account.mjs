// The tenant's API keys, provider credentials (write-only) and limits.
import { html, useState } from "./preact-htm.mjs";
import { api, enc } from "./api.mjs";
import { t } from "./i18n.mjs";
import { Heading, Notice, TextInput, useLoad, errorText, when } from "./ui.mjs";

const SCOPES = ["chat", "moderate", "admin"];

// The scopes this API accepts, read from its own OpenAPI document (a new scope appears without a console change).
async function keyScopes() {
  const spec = await api("GET", "/openapi.json");
  const scopes = spec?.components?.schemas?.KeyCreate?.properties?.scopes?.items;
  const named = scopes?.enum || (scopes?.$ref && spec.components.schemas[scopes.$ref.split("/").at(-1)]?.enum);
  return named && named.length ? named : SCOPES;
}
const paramOf = (e) => (e?.param || "").replace(/^body\./, "").split(".")[0];

export function Keys() {
  const [keys, error, reload] = useLoad(() => api("GET", "/v1/keys").then((r) => r.data));
  const [available] = useLoad(() => keyScopes().catch(() => SCOPES));
  const [label, setLabel] = useState("");
  const [scopes, setScopes] = useState(["chat", "moderate"]);
  const [created, setCreated] = useState(null);
  const [notice, setNotice] = useState(null);
  const create = async (event) => {
    event.preventDefault();
    setNotice(null);
    try { setCreated(await api("POST", "/v1/keys", { body: { label: label || "unnamed", scopes } })); setLabel(""); reload(); }
    catch (e) { setNotice({ kind: "error", text: e.message }); }
  };
  const revoke = async (key) => {
    if (!confirm(t("confirm_revoke"))) return;
    try { await api("DELETE", `/v1/keys/${enc(key.id)}`); setNotice({ kind: "ok", text: t("revoked") + " " + key.prefix }); reload(); }
    catch (e) { setNotice({ kind: "error", text: e.message }); }
  };
  const toggle = (scope) => setScopes(scopes.includes(scope) ? scopes.filter((s) => s !== scope) : [...scopes, scope]);
  return html`<section aria-labelledby="keys-h">
    <${Heading}><span id="keys-h">${t("keys")}</span></${Heading}>
    <${Notice} kind="error">${errorText(error)}</${Notice}>
    <form class="card" onSubmit=${create} aria-label=${t("new_key")}>
      <h3>${t("new_key")}</h3>
      <${TextInput} label=${t("label")} value=${label} onInput=${setLabel} />
      <fieldset><legend>${t("scopes")}</legend>
        ${(available || SCOPES).map((s) => html`<label class="check"><input type="checkbox" checked=${scopes.includes(s)} onChange=${() => toggle(s)} /> ${s}</label>`)}
      </fieldset>
      <button type="submit">${t("create_key")}</button>
    </form>
    ${created && html`<div class="notice ok once" role="status">
      <p>${t("key_once")}</p>
      <p><code class="new-key" data-testid="new-key">${created.key}</code>
        <button type="button" onClick=${() => navigator.clipboard.writeText(created.key).then(() => setNotice({ kind: "ok", text: t("copied") }))}>${t("copy")}</button>
        <button type="button" onClick=${() => setCreated(null)}>${t("done")}</button></p></div>`}
    <${Notice} kind=${notice?.kind}>${notice?.text}</${Notice}>
    <table class="list" aria-label=${t("keys")}>
      <thead><tr><th scope="col">${t("prefix")}</th><th scope="col">${t("label")}</th><th scope="col">${t("scopes")}</th><th scope="col">${t("created")}</th><th scope="col">${t("status")}</th><th scope="col"><span class="sr-only">${t("actions")}</span></th></tr></thead>
      <tbody>${(keys || []).map((k) => html`<tr data-key=${k.id}>
        <td><code>${k.prefix}</code></td><td>${k.label}</td><td>${k.scopes.join(", ")}</td><td>${when(k.created_at)}</td>
        <td class="key-status">${k.revoked_at ? t("revoked") + " " + when(k.revoked_at) : t("active")}</td>
        <td>${!k.revoked_at && html`<button type="button" class="danger" aria-label=${t("revoke") + " " + k.label} onClick=${() => revoke(k)}>${t("revoke")}</button>`}</td>
      </tr>`)}</tbody>
    </table>
  </section>`;
}

export function Credentials() {
  const [list, error, reload] = useLoad(() => api("GET", "/v1/credentials").then((r) => r.data));
  const [form, setForm] = useState({ provider: "openai", api_key: "", base_url: "", organization: "" });
  const [problem, setProblem] = useState(null);
  const [notice, setNotice] = useState(null);
  const set = (key) => (value) => setForm({ ...form, [key]: value });
  const store = async (event) => {
    event.preventDefault();
    setProblem(null);
    setNotice(null);
    const body = { api_key: form.api_key };
    if (form.base_url) body.base_url = form.base_url;
    if (form.organization) body.organization = form.organization;
    try {
      await api("PUT", `/v1/credentials/${enc(form.provider)}`, { body });
      setForm({ ...form, api_key: "" });
      setNotice({ kind: "ok", text: t("stored") });
      reload();
    } catch (e) { setProblem(e); }
  };
  const remove = async (provider) => {
    if (!confirm(t("confirm_delete"))) return;
    try { await api("DELETE", `/v1/credentials/${enc(provider)}`); reload(); } catch (e) { setNotice({ kind: "error", text: e.message }); }
  };
  const on = (param) => (problem && paramOf(problem) === param ? problem.message : null);
  return html`<section aria-labelledby="cred-h">
    <${Heading}><span id="cred-h">${t("credentials")}</span></${Heading}>
    <p>${t("credentials_write_only")}</p>
    <${Notice} kind="error">${errorText(error)}</${Notice}>
    <table class="list" aria-label=${t("credentials")}>
      <thead><tr><th scope="col">${t("provider")}</th><th scope="col">${t("key_mask")}</th><th scope="col">base_url</th><th scope="col">${t("updated")}</th><th scope="col"><span class="sr-only">${t("actions")}</span></th></tr></thead>
      <tbody>${(list || []).map((c) => html`<tr>
        <td>${c.provider}</td><td><code>${c.api_key_mask}</code></td><td>${c.base_url || "—"}</td><td>${when(c.updated_at)}</td>
        <td><button type="button" onClick=${() => setForm({ ...form, provider: c.provider, base_url: c.base_url || "" })}>${t("rotate")}</button>
          <button type="button" class="danger" onClick=${() => remove(c.provider)}>${t("delete")}</button></td></tr>`)}</tbody>
    </table>
    <form class="card" onSubmit=${store} aria-label=${t("store_credential")}>
      <h3>${t("store_credential")}</h3>
      <${TextInput} label=${t("provider")} value=${form.provider} onInput=${set("provider")} />
      <${TextInput} label=${t("api_key")} type="password" autocomplete="off" value=${form.api_key} onInput=${set("api_key")} error=${on("api_key")} />
      <${TextInput} label="base_url" value=${form.base_url} onInput=${set("base_url")} error=${on("base_url")} />
      <${TextInput} label=${t("organization")} value=${form.organization} onInput=${set("organization")} error=${on("organization")} />
      ${problem && !on(paramOf(problem)) && html`<${Notice} kind="error">${problem.message}</${Notice}>`}
      <${Notice} kind=${notice?.kind}>${notice?.text}</${Notice}>
      <button type="submit">${t("store")}</button>
    </form>
  </section>`;
}

export const LIMIT_FIELDS = [
  "daily_budget_usd", "monthly_budget_usd", "soft_limit_percent", "monthly_token_quota",
  "monthly_request_quota", "rate_limit_rps", "rate_limit_burst",
];

// A form over LIMIT_FIELDS; used by the tenant admin (PUT /v1/limits) and the operator (the caps).
export function LimitsForm({ values, onSave, title }) {
  const [form, setForm] = useState(() => Object.fromEntries(LIMIT_FIELDS.map((f) => [f, values?.[f] ?? ""])));
  const [problem, setProblem] = useState(null);
  const [notice, setNotice] = useState(null);
  const save = async (event) => {
    event.preventDefault();
    setProblem(null);
    setNotice(null);
    const body = Object.fromEntries(LIMIT_FIELDS.map((f) => [f, form[f] === "" ? null : Number(form[f])]));
    try { await onSave(body); setNotice(t("saved")); } catch (e) { setProblem(e); }
  };
  const on = (f) => (problem && paramOf(problem) === f ? problem.message : null);
  return html`<form class="card" onSubmit=${save} aria-label=${title}>
    <h3>${title}</h3>
    ${LIMIT_FIELDS.map((f) => html`<${TextInput} id=${"limit-" + f} label=${t(f)} type="number" step="any" value=${form[f]} onInput=${(v) => setForm({ ...form, [f]: v })} error=${on(f)} />`)}
    ${problem && !on(paramOf(problem)) && html`<${Notice} kind="error">${problem.message}</${Notice}>`}
    <${Notice}>${notice}</${Notice}>
    <button type="submit">${t("save")}</button>
  </form>`;
}

export function Limits() {
  const [view, error, reload] = useLoad(() => api("GET", "/v1/limits"));
  if (!view) return html`<section><${Heading}>${t("limits")}</${Heading}><${Notice} kind="error">${errorText(error)}</${Notice}></section>`;
  const rows = LIMIT_FIELDS.map((f) => html`<tr><th scope="row">${t(f)}</th><td>${view.limits[f] ?? "—"}</td><td>${view.operator_caps[f] ?? "—"}</td><td class=${"effective-" + f}>${view.effective[f] ?? "—"}</td></tr>`);
  const soft = view.soft_limit ?? view.soft_limit_state;
  return html`<section aria-labelledby="limits-h">
    <${Heading}><span id="limits-h">${t("limits")}</span></${Heading}>
    <table class="list" aria-label=${t("limits")}>
      <thead><tr><th scope="col">${t("limit")}</th><th scope="col">${t("yours")}</th><th scope="col">${t("operator_caps")}</th><th scope="col">${t("effective")}</th></tr></thead>
      <tbody>${rows}</tbody>
    </table>
    <p>${t("resets")}: ${t("day")} ${when(view.day_resets_at)} · ${t("month")} ${when(view.month_resets_at)}</p>
    ${view.suspended_by.length > 0 && html`<${Notice} kind="error">${t("suspended_by")}: ${view.suspended_by.join(", ")}</${Notice}>`}
    ${soft && html`<p class="soft-limit">${t("soft_limit_state")}: ${typeof soft === "string" ? soft : JSON.stringify(soft)}</p>`}
    <${LimitsForm} key=${view.updated_at} title=${t("set_limits")} values=${view.limits} onSave=${(body) => api("PUT", "/v1/limits", { body }).then(reload)} />
  </section>`;
}
