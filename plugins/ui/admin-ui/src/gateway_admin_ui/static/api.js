// Calls of the gateway's admin API through the UI's same-origin proxy (/ui/api/...). The session
// cookie is HttpOnly: this code never sees the key. State-changing calls carry the CSRF token.
let csrfToken = null;

export class ApiError extends Error {
  constructor(status, message, param) {
    super(message);
    this.status = status;
    this.param = param || null;
  }
}

async function call(url, { method = "GET", body, query } = {}) {
  const target = new URL(url, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") target.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    if (csrfToken) headers["X-CSRF-Token"] = csrfToken;
  }
  const response = await fetch(target, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    const error = data && data.error ? data.error : {};
    const message = typeof error === "string" ? error : error.message || text || response.statusText;
    if (response.status === 401 && !url.startsWith("/ui/login")) {
      window.dispatchEvent(new CustomEvent("session-ended", { detail: message }));
    }
    throw new ApiError(response.status, message, error.param);
  }
  return data;
}

export function api(path, options) {
  return call("/ui/api/" + path.replace(/^\//, ""), options);
}

export async function currentSession() {
  const session = await call("/ui/session");
  csrfToken = session.csrf_token;
  return session;
}

export async function login(key) {
  const session = await call("/ui/login", { method: "POST", body: { key } });
  csrfToken = session.csrf_token;
  return session;
}

export async function logout() {
  try { await call("/ui/logout", { method: "POST", body: {} }); } finally { csrfToken = null; }
}
