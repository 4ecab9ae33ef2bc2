// The console's router: sign-in, navigation, status line, and polling while a page is shown.
import { ApiError, api, h, session } from "./api.js";
import { views } from "./views.js";

const main = () => document.getElementById("main");
let timer = null;

export function say(message, error = false) {
  const status = document.getElementById("status");
  status.textContent = message || "";
  status.classList.toggle("error", error);
}

function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const parts = hash.split("/").filter(Boolean).map(decodeURIComponent);
  if (!session.key) return ["signin", []];
  if (parts.length === 0) return ["systems", []];
  if (parts[0] === "systems" && parts.length === 1) return ["systems", []];
  if (parts[0] === "systems" && parts.length === 2) return ["system", [parts[1]]];
  if (parts[0] === "systems" && parts.length === 3) return [parts[2], [parts[1]]];
  if (parts[0] === "systems" && parts.length === 4 && parts[2] === "anomalies") return ["anomaly", [parts[1], parts[3]]];
  if (parts[0] === "systems" && parts.length === 4 && parts[2] === "incidents") return ["incident", [parts[1], parts[3]]];
  return [parts[0], parts.slice(1)];
}

// `navigated`: a new page (focus moves to it); else the page refreshed in place (focus stays put).
async function show(navigated = true) {
  clearInterval(timer);
  timer = null;
  const [name, args] = route();
  const view = views[name];
  document.getElementById("nav").hidden = !session.key;
  for (const link of document.querySelectorAll("nav a")) {
    const current = location.hash.startsWith(link.getAttribute("href"));
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!view) {
    main().replaceChildren(h("h1", {}, "Not found"), h("p", {}, "There is no such page."));
    return;
  }
  const ctx = { say, refresh: () => show(false), poll: (fn, ms = 2000) => { timer = setInterval(fn, ms); } };
  try {
    const page = await view(ctx, ...args);
    main().replaceChildren(...[page].flat());
    const heading = main().querySelector("h1");
    document.title = `${heading ? heading.textContent : "Console"} · LogSynergy`;
    if (navigated || document.activeElement === document.body) main().focus({ preventScroll: true });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      session.key = null;
      say("The API key was refused: sign in again.", true);
      location.hash = "#/signin";
      return;
    }
    main().replaceChildren(h("h1", {}, "Something went wrong"), h("p", { role: "alert" }, error.message));
  }
}

window.addEventListener("hashchange", () => show());
window.addEventListener("DOMContentLoaded", () => {
  document.getElementById("sign-out").addEventListener("click", () => {
    session.key = null;
    say("Signed out.");
    location.hash = "#/signin";
    show();
  });
  show();
});
