// The console's pages. Each view returns its elements; `ctx` carries the status line, refresh and polling.
import { ApiError, api, badge, enc, h, num, session, signIn, table, when } from "./api.js";

const sys = (name) => `/v1/systems/${enc(name)}`;
const link = (href, text) => h("a", { href }, text);
const f1 = (metrics) => (metrics && typeof metrics.f1 === "number" ? metrics.f1.toFixed(3) : "—");

async function act(ctx, button, what, call) {
  button.disabled = true;
  try {
    await call();
    ctx.say(what);
    await ctx.refresh();
  } catch (error) {
    ctx.say(error instanceof ApiError ? error.message : String(error), true);
    button.disabled = false;
  }
}

function signin(ctx) {
  const input = h("input", { id: "api-key", type: "password", autocomplete: "current-password", required: true });
  const form = h("form", { class: "signin", onsubmit: async (event) => {
    event.preventDefault();
    try {
      await signIn(input.value.trim());
      ctx.say("Signed in.");
      location.hash = "#/systems";
    } catch (error) {
      ctx.say(error.status === 401 ? "That API key was refused." : error.message, true);
    }
  } },
  h("label", { for: "api-key" }, "API key", input),
  h("p", {}, h("button", { type: "submit", class: "primary" }, "Sign in")));
  return [h("h1", {}, "Sign in"), h("p", {}, "Sign in with your tenant's API key; it stays in this tab only."), form];
}

async function systems() {
  const rows = await api("/v1/systems");
  const cols = [
    { title: "System", cell: (s) => link(`#/systems/${enc(s.name)}`, s.name) },
    { title: "Role", cell: (s) => s.role },
    { title: "Format", cell: (s) => s.format, cls: "hide-narrow" },
    { title: "Active version", cell: (s) => (s.active_version ?? "none"), cls: "num" },
    { title: "Created", cell: (s) => when(s.created_at), cls: "hide-narrow" },
  ];
  return [h("h1", {}, "Systems"), rows.length ? table("Systems", cols, rows)
    : h("p", {}, "No systems yet: create one through the API or `logsynergy systems create`.")];
}

async function system(ctx, name) {
  const [info, datasets, models] = await Promise.all([
    api(sys(name)), api(`${sys(name)}/datasets`), api(`${sys(name)}/models`)]);
  const active = models.find((m) => m.active);
  const modelCols = [
    { title: "Version", cell: (m) => m.version, cls: "num" },
    { title: "F1 (held-out)", cell: (m) => f1(m.metrics), cls: "num" },
    { title: "Sources", cell: (m) => m.sources.join(", ") || "—", cls: "hide-narrow" },
    { title: "Job", cell: (m) => m.job_id, cls: "hide-narrow" },
    { title: "Created", cell: (m) => when(m.created_at), cls: "hide-narrow" },
    { title: "State", cell: (m) => (m.active ? badge("active") : h("button", {
      type: "button", "aria-label": `Activate version ${m.version}`,
      onclick: (e) => act(ctx, e.target, `Version ${m.version} is active.`,
        () => api(`${sys(name)}/models/${m.version}/activate`, { method: "POST" })),
    }, active && m.version < active.version ? "Roll back" : "Activate")) },
  ];
  const dataCols = [
    { title: "File", cell: (d) => d.filename },
    { title: "Lines", cell: (d) => d.lines, cls: "num" },
    { title: "Windows", cell: (d) => d.windows, cls: "num" },
    { title: "Labelled", cell: (d) => (d.labelled ? `yes (${d.anomalous_windows} anomalous)` : "no") },
    { title: "Uploaded", cell: (d) => when(d.created_at), cls: "hide-narrow" },
  ];
  return [
    h("h1", {}, `System ${info.name}`),
    h("dl", { class: "facts" },
      h("dt", {}, "Role"), h("dd", {}, info.role),
      h("dt", {}, "Format"), h("dd", {}, info.format),
      h("dt", {}, "Description"), h("dd", {}, info.description || "—"),
      h("dt", {}, "Active version"), h("dd", {}, active ? `${active.version} (F1 ${f1(active.metrics)})` : "none")),
    h("p", { class: "actions" },
      link(`#/systems/${enc(name)}/anomalies`, "Anomalies"),
      link(`#/systems/${enc(name)}/incidents`, "Incidents"),
      link(`#/systems/${enc(name)}/interpretations`, "Interpretations")),
    h("h2", {}, "Model versions"),
    models.length ? table("Model versions", modelCols, models) : h("p", {}, "No model yet."),
    h("h2", {}, "Datasets"),
    datasets.length ? table("Datasets", dataCols, datasets) : h("p", {}, "No dataset uploaded."),
  ];
}

function progressCell(job) {
  const p = job.progress || {};
  if (job.status === "running" && p.epochs) {
    return h("span", {}, h("progress", { max: p.epochs, value: p.epoch || 0, "aria-label": "epochs done" }),
      ` ${p.stage} ${p.epoch || 0}/${p.epochs}`);
  }
  return p.message || p.stage || "";
}

async function jobs(ctx) {
  const [rows, info] = await Promise.all([api("/v1/jobs"), api("/v1/info")]);
  const dashboard = (job) => (job.ray_submission_id && info.ray_dashboard_url
    ? h("a", { href: `${info.ray_dashboard_url}/#/jobs/${enc(job.ray_submission_id)}`, target: "_blank",
      rel: "noopener" }, "Ray job") : "—");
  const cols = [
    { title: "Job", cell: (j) => j.id },
    { title: "Target", cell: (j) => link(`#/systems/${enc(j.target)}`, j.target) },
    { title: "Status", cell: (j) => badge(j.status) },
    { title: "Progress", cell: progressCell },
    { title: "Version", cell: (j) => j.model_version ?? "—", cls: "num" },
    { title: "F1", cell: (j) => f1(j.metrics), cls: "num" },
    { title: "Created", cell: (j) => when(j.created_at), cls: "hide-narrow" },
    { title: "Dashboard", cell: dashboard, cls: "hide-narrow" },
  ];
  if (rows.some((j) => j.status === "queued" || j.status === "running")) ctx.poll(ctx.refresh, 2000);
  return [h("h1", {}, "Jobs"), rows.length ? table("Jobs", cols, rows) : h("p", {}, "No jobs yet.")];
}

function judgeButtons(ctx, path, current) {
  const note = h("input", { type: "text", "aria-label": "Note (optional)", placeholder: "note (optional)" });
  const judge = (verdict, text) => h("button", {
    type: "button", class: verdict === "anomaly" ? "danger" : "",
    onclick: (e) => act(ctx, e.target, `Judged ${verdict.replace("_", " ")}.`,
      () => api(`${path}/judgement`, { method: "POST", body: note.value ? { verdict, note: note.value } : { verdict } })),
  }, text);
  return h("div", { class: "actions" },
    judge("anomaly", "Confirm anomaly"), judge("not_anomaly", "Not an anomaly"), note,
    current ? h("button", { type: "button", onclick: (e) => act(ctx, e.target, "Judgement withdrawn.",
      () => api(`${path}/judgement`, { method: "DELETE" })) }, "Withdraw judgement") : null);
}

// A verdict as shown: its own with its note; else `inherited` when its status comes from elsewhere.
function judgement(row, inherited) {
  if (row.verdict) return `${row.verdict.replace("_", " ")}${row.note ? `: ${row.note}` : ""}`;
  return inherited && row.status && row.status !== "open" ? inherited : "not judged";
}

async function anomalies(ctx, name) {
  const params = new URLSearchParams(location.search);
  const page = await api(`${sys(name)}/anomalies?${params}`);
  const rows = page.items || page;
  const cols = [
    { title: "Anomaly", cell: (a) => link(`#/systems/${enc(name)}/anomalies/${a.id}`, `#${a.id}`) },
    { title: "Received", cell: (a) => when(a.received) },
    { title: "Score", cell: (a) => num(a.score), cls: "num" },
    { title: "Lines", cell: (a) => `${a.first_line}–${a.last_line}`, cls: "hide-narrow" },
    { title: "Version", cell: (a) => a.version, cls: "num hide-narrow" },
    { title: "Incident", cell: (a) => link(`#/systems/${enc(name)}/incidents/${a.incident_id}`, `#${a.incident_id}`) },
    { title: "Status", cell: (a) => badge(a.status) },
  ];
  return [h("h1", {}, `Anomalies of ${name}`),
    rows.length ? table("Anomalies", cols, rows) : h("p", {}, "No anomaly recorded.")];
}

function events(list) {
  return h("ol", { class: "events" }, list.map((e) => h("li", { class: "event" },
    h("pre", { class: "lines" }, e.raw || e.message),
    h("div", { class: "tpl" }, `template ${e.template_id}: ${e.template}`, e.new ? h("span", { class: "new" }, " (new)") : null),
    e.interpretation ? h("div", { class: "interp" }, e.interpretation) : null)));
}

async function anomaly(ctx, name, id) {
  const a = await api(`${sys(name)}/anomalies/${enc(id)}`);
  const path = `${sys(name)}/anomalies/${enc(id)}`;
  return [
    h("h1", {}, `Anomaly #${a.id} of ${name}`),
    h("dl", { class: "facts" },
      h("dt", {}, "Score"), h("dd", {}, `${num(a.score)} (threshold ${num(a.threshold)})`),
      h("dt", {}, "Received"), h("dd", {}, when(a.received)),
      h("dt", {}, "Model version"), h("dd", {}, a.version),
      h("dt", {}, "Lines"), h("dd", {}, `${a.first_line}–${a.last_line}${a.session ? `, session ${a.session}` : ""}`),
      h("dt", {}, "Incident"), h("dd", {}, link(`#/systems/${enc(name)}/incidents/${a.incident_id}`, `#${a.incident_id}`)),
      h("dt", {}, "Stream"), h("dd", {}, a.stream_id || "—"),
      h("dt", {}, "Status"), h("dd", {}, badge(a.status)),
      h("dt", {}, "Judgement"), h("dd", {}, judgement(a, "none of its own: its incident's verdict applies"))),
    judgeButtons(ctx, path, a.verdict),
    h("h2", {}, "Lines, templates and interpretations"),
    events(a.events || []),
  ];
}

async function incidents(ctx, name) {
  const page = await api(`${sys(name)}/incidents`);
  const rows = page.items || page;
  const cols = [
    { title: "Incident", cell: (i) => link(`#/systems/${enc(name)}/incidents/${i.id}`, `#${i.id}`) },
    { title: "Windows", cell: (i) => i.count, cls: "num" },
    { title: "First seen", cell: (i) => when(i.first_seen), cls: "hide-narrow" },
    { title: "Last seen", cell: (i) => when(i.last_seen) },
    { title: "Max score", cell: (i) => num(i.max_score), cls: "num" },
    { title: "Status", cell: (i) => badge(i.status) },
  ];
  return [h("h1", {}, `Incidents of ${name}`),
    rows.length ? table("Incidents", cols, rows) : h("p", {}, "No incident recorded.")];
}

async function incident(ctx, name, id) {
  const i = await api(`${sys(name)}/incidents/${enc(id)}`);
  const path = `${sys(name)}/incidents/${enc(id)}`;
  const recent = await api(`${sys(name)}/anomalies?incident=${enc(id)}`);
  const rows = recent.items || recent;
  return [
    h("h1", {}, `Incident #${i.id} of ${name}`),
    h("dl", { class: "facts" },
      h("dt", {}, "Windows"), h("dd", {}, i.count),
      h("dt", {}, "Seen"), h("dd", {}, `${when(i.first_seen)} – ${when(i.last_seen)}`),
      h("dt", {}, "Max score"), h("dd", {}, num(i.max_score)),
      h("dt", {}, "Status"), h("dd", {}, badge(i.status)),
      h("dt", {}, "Judgement"), h("dd", {}, judgement(i))),
    h("p", {}, "Judging an incident judges its pattern: “Not an anomaly” stops it alarming at once."),
    judgeButtons(ctx, path, i.verdict),
    ...(i.templates && i.templates.length ? [h("h2", {}, "Its templates"),
      h("ul", { class: "templates" }, i.templates.map((t) => h("li", {}, t)))] : []),
    h("h2", {}, "Its windows"),
    table("Windows of the incident", [
      { title: "Anomaly", cell: (a) => link(`#/systems/${enc(name)}/anomalies/${a.id}`, `#${a.id}`) },
      { title: "Received", cell: (a) => when(a.received) },
      { title: "Score", cell: (a) => num(a.score), cls: "num" },
    ], rows),
  ];
}

async function interpretations(ctx, name) {
  const rows = await api(`${sys(name)}/interpretations`);
  const editor = (row) => {
    const area = h("textarea", { "aria-label": `Interpretation of template ${row.template_id}` });
    area.value = row.interpretation;
    return h("form", { onsubmit: (event) => {
      event.preventDefault();
      act(ctx, event.submitter || event.target, `Saved the interpretation of ${row.template_id}.`,
        () => api(`${sys(name)}/interpretations/${enc(row.template_id)}`,
          { method: "PUT", body: { interpretation: area.value } }));
    } }, area, h("button", { type: "submit" }, "Save"));
  };
  const cols = [
    { title: "Template", cell: (r) => h("span", { class: "tpl" }, r.template) },
    { title: "Interpretation", cell: editor },
    { title: "Reviewed", cell: (r) => (r.reviewed ? "yes" : "no") },
    { title: "Provider", cell: (r) => r.provider, cls: "hide-narrow" },
  ];
  return [h("h1", {}, `Interpretations of ${name}`),
    h("p", {}, "Saving marks an interpretation reviewed; reviewed ones are kept across retraining."),
    rows.length ? table("Interpretations", cols, rows) : h("p", {}, "No interpretation yet.")];
}

async function bench() {
  const info = await api("/v1/info");
  const plots = info.bench_plots || [];
  return [h("h1", {}, "Benchmark"),
    plots.length ? h("div", { class: "plots" }, plots.map((p) => h("figure", {},
      h("img", { src: `/console/bench/${enc(p)}`, alt: `Benchmark plot ${p}` }), h("figcaption", {}, p))))
      : h("p", {}, "No benchmark results configured (setting LOGSYNERGY_BENCH_DIR).")];
}

export const views = { signin, systems, system, jobs, anomalies, anomaly, incidents, incident, interpretations, bench };
export { session };
