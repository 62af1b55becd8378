// The Atende console: sign in with an API key, then the tenant admin's screens or the operator's.
import { html, render, useState } from "./preact-htm.mjs";
import { api, session } from "./api.mjs";
import { t, language, setLanguage, LANGUAGES } from "./i18n.mjs";
import { Notice } from "./ui.mjs";
import { Bots } from "./bots.mjs";
import { Conversations } from "./playground.mjs";
import { Keys, Credentials, Limits } from "./account.mjs";
import { Usage, Audit } from "./usage.mjs";
import { Tenants } from "./operator.mjs";

const TENANT_VIEWS = { bots: Bots, conversations: Conversations, keys: Keys, credentials: Credentials, limits: Limits, usage: Usage, audit: Audit };
const OPERATOR_VIEWS = { tenants: Tenants };

// Who a key belongs to: the operator (lists tenants), a tenant admin (lists bots), or neither.
async function identify(key) {
  try {
    await api("GET", "/v1/admin/tenants", { key });
    return "operator";
  } catch (e) {
    if (e.status !== 403) throw e;
  }
  await api("GET", "/v1/bots", { key });
  return "admin";
}

function SignIn({ onSignedIn }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      const role = await identify(key.trim());
      session.key = key.trim();
      sessionStorage.setItem("atende.console.role", role);
      onSignedIn(role);
    } catch (e) { setError(e.status === 401 ? t("bad_key") : e.status === 403 ? t("not_admin") : e.message); }
  };
  return html`<main id="main" class="signin">
    <h1>${t("title")}</h1>
    <form class="card" onSubmit=${submit}>
      <label for="signin-key">${t("api_key")}</label>
      <input id="signin-key" type="password" autocomplete="off" value=${key} onInput=${(e) => setKey(e.target.value)} aria-describedby="signin-hint" required />
      <small id="signin-hint" class="hint">${t("signin_hint")}</small>
      <${Notice} kind="error">${error}</${Notice}>
      <button type="submit">${t("sign_in")}</button>
    </form>
  </main>`;
}

function LanguageSwitch({ onChange }) {
  return html`<label class="lang">${t("language")}
    <select value=${language()} onChange=${(e) => { setLanguage(e.target.value); onChange(); }}>
      ${Object.entries(LANGUAGES).map(([code, name]) => html`<option value=${code}>${name}</option>`)}
    </select></label>`;
}

function Console() {
  const [role, setRole] = useState(() => (session.key ? sessionStorage.getItem("atende.console.role") : null));
  const views = role === "operator" ? OPERATOR_VIEWS : TENANT_VIEWS;
  const [view, setView] = useState(Object.keys(views)[0]);
  const [visit, setVisit] = useState(0); // a click on a section starts it afresh (and focuses its heading)
  const [, redraw] = useState(0);
  const header = html`<header class="top">
    <a class="skip" href="#main">${t("skip")}</a>
    <span class="brand">${t("title")}</span>
    <${LanguageSwitch} onChange=${() => redraw((n) => n + 1)} />
    ${role && html`<button type="button" onClick=${() => { session.key = null; setRole(null); }}>${t("sign_out")}</button>`}
  </header>`;
  if (!role) return html`${header}<${SignIn} onSignedIn=${(r) => { setRole(r); setView(Object.keys(r === "operator" ? OPERATOR_VIEWS : TENANT_VIEWS)[0]); }} />`;
  const View = views[view] || Object.values(views)[0];
  return html`${header}
    <nav aria-label=${t("sections")}><ul>
      ${Object.keys(views).map((name) => html`<li><button type="button" aria-current=${name === view ? "page" : undefined} onClick=${() => { setView(name); setVisit((n) => n + 1); }}>${t(name)}</button></li>`)}
    </ul></nav>
    <main id="main"><${View} key=${`${view}-${visit}-${language()}`} /></main>`;
}

document.documentElement.lang = language();
render(html`<${Console} />`, document.getElementById("app"));
