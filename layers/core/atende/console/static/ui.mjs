// Small shared pieces: labelled fields with their API error, notices, and a loader hook.
import { html, useEffect, useRef, useState, useCallback } from "./preact-htm.mjs";
import { t } from "./i18n.mjs";

let ids = 0;
export const uid = (prefix) => `${prefix}-${++ids}`;

// One labelled control; `error` is the API's message for the field its `param` names.
export function Field({ label, hint, error, children, id, count }) {
  const hintId = hint ? `${id}-hint` : null;
  const errorId = error ? `${id}-error` : null;
  return html`<div class=${"field" + (error ? " invalid" : "")} data-field=${id}>
    <label for=${id}>${label}</label>
    ${children({ id, "aria-describedby": [hintId, errorId].filter(Boolean).join(" ") || undefined, "aria-invalid": error ? "true" : undefined })}
    ${count}
    ${hint && html`<small id=${hintId} class="hint">${hint}</small>`}
    ${error && html`<p id=${errorId} class="field-error" role="alert">${error}</p>`}
  </div>`;
}

export function TextInput({ label, value, onInput, error, hint, type = "text", id, ...rest }) {
  const fieldId = useRef(id || uid("f")).current;
  return html`<${Field} label=${label} hint=${hint} error=${error} id=${fieldId}>
    ${(a) => html`<input ...${a} ...${rest} type=${type} value=${value ?? ""} onInput=${(e) => onInput(e.target.value)} />`}
  </${Field}>`;
}

export function Notice({ kind = "info", children }) {
  if (!children) return null;
  return html`<div class=${"notice " + kind} role=${kind === "error" ? "alert" : "status"}>${children}</div>`;
}

// Fetches once (and again on reload()); returns [data, error, reload].
export function useLoad(load, deps = []) {
  const [state, setState] = useState({ data: null, error: null });
  const reload = useCallback(() => {
    load().then((data) => setState({ data, error: null }), (error) => setState({ data: null, error }));
  }, deps);
  useEffect(reload, [reload]);
  return [state.data, state.error, reload];
}

export function Heading({ children }) {
  const ref = useRef();
  useEffect(() => ref.current && ref.current.focus(), []);
  return html`<h2 tabindex="-1" ref=${ref}>${children}</h2>`;
}

export const money = (value) => (value === null || value === undefined ? "—" : `$${Number(value).toFixed(6)}`);
export const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
export const errorText = (error) => (error ? `${error.message}` : "");
export const yes = (b) => (b ? t("yes") : t("no"));
