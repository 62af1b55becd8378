// The operator's view (root key): tenants, their status, caps, first admin key, deletion.
import { html, useState } from "./preact-htm.mjs";
import { api, enc } from "./api.mjs";
import { t } from "./i18n.mjs";
import { Heading, Notice, TextInput, useLoad, errorText, when } from "./ui.mjs";
import { LimitsForm } from "./account.mjs";

export function Tenants() {
  const [tenants, error, reload] = useLoad(() => api("GET", "/v1/admin/tenants").then((r) => r.data));
  const [form, setForm] = useState({ id: "", name: "", knowledge_base_max_chars: "10000", retention_days: "30" });
  const [problem, setProblem] = useState(null);
  const [notice, setNotice] = useState(null);
  const [caps, setCaps] = useState(null);
  const set = (key) => (value) => setForm({ ...form, [key]: value });
  const act = async (method, path, body, done) => {
    setNotice(null);
    try { const r = await api(method, path, { body }); setNotice(done(r)); reload(); } catch (e) { setNotice({ kind: "error", text: e.message }); }
  };
  const create = async (event) => {
    event.preventDefault();
    setProblem(null);
    const body = { name: form.name, knowledge_base_max_chars: Number(form.knowledge_base_max_chars), retention_days: Number(form.retention_days) };
    if (form.id) body.id = form.id;
    try { await api("POST", "/v1/admin/tenants", { body }); setForm({ ...form, id: "", name: "" }); reload(); } catch (e) { setProblem(e); }
  };
  const on = (f) => (problem && (problem.param || "").replace(/^body\./, "") === f ? problem.message : null);
  const openCaps = async (id) => {
    try { setCaps({ id, view: await api("GET", `/v1/admin/tenants/${enc(id)}/limits`) }); } catch (e) { setNotice({ kind: "error", text: e.message }); }
  };
  return html`<section aria-labelledby="tenants-h">
    <${Heading}><span id="tenants-h">${t("tenants")}</span></${Heading}>
    <${Notice} kind="error">${errorText(error)}</${Notice}>
    <${Notice} kind=${notice?.kind}>${notice?.text}</${Notice}>
    <table class="list" aria-label=${t("tenants")}>
      <thead><tr><th scope="col">${t("id")}</th><th scope="col">${t("name")}</th><th scope="col">${t("status")}</th><th scope="col">${t("created")}</th><th scope="col"><span class="sr-only">${t("actions")}</span></th></tr></thead>
      <tbody>${(tenants || []).map((x) => html`<tr data-tenant=${x.id}>
        <td>${x.id}</td><td>${x.name}</td>
        <td class="tenant-status">${x.status}${x.status_reason ? ` (${x.status_reason})` : ""}</td><td>${when(x.created_at)}</td>
        <td class="actions">
          ${x.status === "active"
            ? html`<button type="button" onClick=${() => act("POST", `/v1/admin/tenants/${enc(x.id)}/suspend`, {}, () => ({ kind: "ok", text: t("suspended") }))}>${t("suspend")}</button>`
            : html`<button type="button" onClick=${() => act("POST", `/v1/admin/tenants/${enc(x.id)}/resume`, undefined, () => ({ kind: "ok", text: t("resumed") }))}>${t("resume")}</button>`}
          <button type="button" onClick=${() => openCaps(x.id)}>${t("caps")}</button>
          <button type="button" onClick=${() => act("POST", `/v1/admin/tenants/${enc(x.id)}/keys`, undefined, (k) => ({ kind: "ok once", text: `${t("key_once")} ${k.key}` }))}>${t("issue_admin_key")}</button>
          <button type="button" class="danger" onClick=${() => confirm(t("confirm_delete_tenant")) && act("DELETE", `/v1/admin/tenants/${enc(x.id)}`, undefined, () => ({ kind: "ok", text: t("deleted") }))}>${t("delete")}</button>
        </td></tr>`)}</tbody>
    </table>
    ${caps && html`<${LimitsForm} key=${caps.id} title=${`${t("caps")}: ${caps.id}`} values=${caps.view.operator_caps}
      onSave=${(body) => api("PUT", `/v1/admin/tenants/${enc(caps.id)}/limits`, { body })} />`}
    <form class="card" onSubmit=${create} aria-label=${t("new_tenant")}>
      <h3>${t("new_tenant")}</h3>
      <${TextInput} label=${t("id")} hint=${t("id_optional")} value=${form.id} onInput=${set("id")} error=${on("id")} />
      <${TextInput} label=${t("name")} value=${form.name} onInput=${set("name")} error=${on("name")} />
      <${TextInput} label=${t("kb_max_chars")} type="number" value=${form.knowledge_base_max_chars} onInput=${set("knowledge_base_max_chars")} error=${on("knowledge_base_max_chars")} />
      <${TextInput} label=${t("retention_days")} type="number" value=${form.retention_days} onInput=${set("retention_days")} error=${on("retention_days")} />
      ${problem && !on((problem.param || "").replace(/^body\./, "")) && html`<${Notice} kind="error">${problem.message}</${Notice}>`}
      <button type="submit">${t("create_tenant")}</button>
    </form>
  </section>`;
}
