// The UI's shell: login, navigation by #/page, and the session's identity for the pages.
import { currentSession, login, logout } from "./api.js";
import { el } from "./util.js";

const PAGES = {
  overview: () => import("./pages/overview.js"),
  keys: () => import("./pages/keys.js"),
  teams: () => import("./pages/teams.js"),
  spend: () => import("./pages/spend.js"),
  logs: () => import("./pages/logs.js"),
  models: () => import("./pages/models.js"),
};

let session = null;
const $ = (id) => document.getElementById(id);

function showLogin(message) {
  session = null;
  $("nav").hidden = true;
  $("logout").hidden = true;
  $("who").textContent = "";
  $("page").replaceChildren();
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("login-key").focus();
}

async function render() {
  if (!session) return;
  const name = (location.hash.replace(/^#\//, "").split("?")[0] || "overview").toLowerCase();
  const page = PAGES[name] ? name : "overview";
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === page));
  const host = el("div", { id: "page-" + page });
  $("page").replaceChildren(host);
  try {
    const module = await PAGES[page]();
    await module.render(host, session);
  } catch (error) {
    host.append(el("p", { class: "error" }, error.message || String(error)));
  }
}

function enter(current) {
  session = current;
  $("login").hidden = true;
  $("nav").hidden = false;
  $("logout").hidden = false;
  const who = current.master_key ? "master key" : [current.key_alias, current.user_id].filter(Boolean).join(" · ") || "virtual key";
  $("who").textContent = `${who} (${current.role})`;
  render();
}

document.addEventListener("DOMContentLoaded", async () => {
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = $("login-key").value;
    $("login-error").textContent = "";
    try {
      const current = await login(key);
      $("login-key").value = "";
      enter(current);
    } catch (error) {
      $("login-error").textContent = error.message;
    }
  });
  $("logout").addEventListener("click", async () => {
    await logout().catch(() => {});
    showLogin("Logged out.");
  });
  window.addEventListener("hashchange", render);
  window.addEventListener("session-ended", (event) => showLogin(event.detail));
  try {
    enter(await currentSession());
  } catch {
    showLogin("");
  }
});
