// The REST API as the console uses it, and a DOM builder that never parses markup (log lines are
// untrusted text).

const KEY = "logsynergy.key";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  set key(value) {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  },
};

export async function api(path, { method = "GET", body, key = session.key } = {}) {
  const headers = { Authorization: `Bearer ${key}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, "network", `the control plane did not answer (${error.message})`);
  }
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || "http_error", error.message || `HTTP ${response.status}`);
  }
  return data;
}

export const enc = encodeURIComponent;

export async function signIn(key) {
  await api("/v1/systems", { key }); // 401 when the key is wrong
  session.key = key;
}

// h("a", {href: "#/x"}, "text", child, ...): an element; strings become text nodes, null is skipped.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "text") el.textContent = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function table(caption, columns, rows) {
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.cls }, c.title)));
  const body = rows.map((row) => h("tr", {}, columns.map((c) => h("td", { class: c.cls }, c.cell(row)))));
  return h("div", { class: "table-wrap" },
    h("table", {}, h("caption", { class: "skip" }, caption), h("thead", {}, head), h("tbody", {}, body)));
}

export const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
export const num = (x, digits = 3) => (typeof x === "number" ? x.toFixed(digits) : "—");
export const badge = (text) => h("span", { class: `badge ${text}` }, text);
