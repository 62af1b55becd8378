// Atende's API from the console: the key lives in this tab's sessionStorage only, never in a cookie.
const BASE = new URL("../", import.meta.url); // .../console/api.mjs -> the API's root, stage prefix included
const KEY = "atende.console.key";

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  set key(value) { if (value) sessionStorage.setItem(KEY, value); else sessionStorage.removeItem(KEY); },
};

export class ApiError extends Error {
  constructor(status, envelope, text) {
    const error = (envelope && envelope.error) || {};
    super(error.message || envelope?.message || text || `HTTP ${status}`);
    this.status = status;
    this.param = error.param || null;
    this.code = error.code || null;
  }
  get conflict() { return this.status === 409 || this.status === 412; }
}

export async function api(method, path, { body, headers = {}, key } = {}) {
  const init = {
    method,
    headers: { Authorization: `Bearer ${key ?? session.key ?? ""}`, ...headers },
    credentials: "omit",
    cache: "no-store",
  };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(new URL(path.replace(/^\//, ""), BASE), init);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) throw new ApiError(response.status, data, text);
  return data;
}

export const enc = encodeURIComponent;
