// Gateway: each alias's deployments with their circuit and live latency (GET /health/ready,
// refreshed every few seconds), latency per deployment over the last hour, keys with spend
// against budget, and recent errors and events.

import { api } from "../lib/api.js";
import { lineChart } from "../lib/chart.js";
import { app, bar, guarded, h, mount, status, table } from "../lib/dom.js";
import { ago, int, ms, pct, usd, when } from "../lib/format.js";

const REFRESH = 5000;
let live = true;
let timer = null;
const sections = { deployments: h("div"), latency: h("div"), keys: h("div"), errors: h("div") };

function deployments(ready) {
  const models = ready.components?.deployments?.models ?? {};
  const rows = Object.entries(models).flatMap(([alias, m]) =>
    m.deployments.map((d, i) => ({ alias: i === 0 ? `${alias} (${m.routing})` : "", ...d })));
  return h("section", { class: "card", "aria-labelledby": "deps" },
    h("div", { class: "row" }, h("h2", { id: "deps" }, "Deployments"), status(ready.components?.deployments?.status ?? ready.status),
      h("span", { class: "spacer" }),
      h("label", { class: "row small" }, h("input", { type: "checkbox", checked: live, onchange: (e) => { live = e.target.checked; schedule(); } }), `live (every ${REFRESH / 1000} s)`),
      h("span", { class: "small muted" }, `updated ${new Date().toLocaleTimeString()}`)),
    table([
      { label: "alias", value: (d) => h("strong", {}, d.alias) },
      { label: "deployment", value: (d) => d.name },
      { label: "model", value: (d) => `${d.provider}/${d.model}`, cls: "hide-narrow" },
      { label: "circuit", value: (d) => status(d.state) },
      { label: "latency", num: true, value: (d) => ms(d.latency_ms) },
      { label: "TTFT", num: true, value: (d) => ms(d.ttft_ms), cls: "hide-narrow" },
      { label: "failures", num: true, value: (d) => `${pct(d.window_failure_rate, 0)} of ${int(d.window_requests)}` },
      { label: "in flight", num: true, value: (d) => `${int(d.in_flight)}${d.max_parallel ? `/${d.max_parallel}` : ""}`, cls: "hide-narrow" },
      { label: "requests", num: true, value: (d) => int(d.requests), cls: "hide-narrow" },
      { label: "", value: (d) => (d.retry_in > 0 ? `retry in ${d.retry_in.toFixed(0)} s` : d.resting_for > 0 ? `resting ${d.resting_for.toFixed(0)} s` : ""), cls: "hide-narrow" },
    ], rows, { empty: "No deployments configured." }),
  );
}

async function latency() {
  const data = await api("/api/analytics/timeseries", { params: { start: "1h", bucket: "minute", group_by: "deployment" } });
  const series = data.series.filter((s) => s.group.deployment).slice(0, 6);
  if (!series.length) return h("p", { class: "empty card" }, "No calls to deployments in the last hour.");
  return lineChart({
    title: "Latency p50 by deployment, last hour",
    format: ms,
    series: series.map((s) => ({ name: s.group.deployment, points: s.points.map((p) => [p.time, p.latency_ms.p50]) })),
  });
}

async function keys() {
  const [{ keys: list }, spend] = await Promise.all([
    api("/api/keys", { params: { usage: "true" } }),
    api("/api/spend", { params: { by: "key" } }),
  ]);
  const spent = new Map(spend.rows.map((r) => [r.key, r]));
  return h("section", { class: "card", "aria-labelledby": "keys" },
    h("h2", { id: "keys" }, "Keys"),
    table([
      { label: "key", value: (k) => h("span", { title: k.id }, k.name) },
      { label: "status", value: (k) => status(k.status) },
      { label: "team", value: (k) => k.team ?? "", cls: "hide-narrow" },
      { label: "models", value: (k) => (k.models ?? ["all"]).join(", "), cls: "hide-narrow" },
      { label: "limits", value: (k) => [k.rpm && `${k.rpm} rpm`, k.tpm && `${k.tpm} tpm`].filter(Boolean).join(" · ") || "–", cls: "hide-narrow" },
      { label: "budget", value: (k) => budget(k) },
      { label: "30 days", num: true, value: (k) => usd(spent.get(k.id)?.cost ?? 0) },
      { label: "requests", num: true, value: (k) => int(spent.get(k.id)?.requests ?? 0), cls: "hide-narrow" },
      { label: "UI", value: (k) => (k.ui ? "yes" : ""), cls: "hide-narrow" },
    ], list, { empty: "No virtual keys: create one with `llmdeck keys create`." }),
    h("p", { class: "small muted" }, `Spent by every key in 30 days: ${usd(spend.total.cost)} over ${int(spend.total.requests)} requests.`),
  );
}

function budget(k) {
  const u = k.usage;
  if (!u) return h("span", { class: "muted" }, "none");
  const share = u.budget ? (u.spent + u.held) / u.budget : 0;
  return h("div", { title: `${usd(u.spent)} spent, ${usd(u.held)} held, ${usd(u.remaining)} left; resets ${u.resets_at ? when(u.resets_at) : "never"}` },
    h("div", { class: "small" }, `${usd(u.spent)} of ${usd(u.budget)} / ${u.period}`),
    bar(share, share >= 1 ? "bad" : share >= 0.8 ? "warn" : ""));
}

async function errors() {
  const [traces, events] = await Promise.all([
    api("/api/traces", { params: { status: "error", limit: 15, full: 1 } }),
    api("/api/events", { params: { limit: 15 } }),
  ]);
  return h("div", { class: "grid two" },
    h("section", { class: "card", "aria-labelledby": "errs" }, h("h2", { id: "errs" }, "Recent errors"),
      table([
        { label: "when", value: (t) => h("span", { title: when(t.start_time) }, ago(t.start_time)) },
        { label: "call", value: (t) => h("a", { href: `/ui/traces/${t.id}` }, t.name ?? t.id) },
        { label: "error", value: (t) => h("span", { class: "clip", title: errorText(t) }, errorText(t)) },
      ], traces.data, { empty: "No failed calls." })),
    h("section", { class: "card", "aria-labelledby": "events" }, h("h2", { id: "events" }, "Events"),
      table([
        { label: "when", value: (e) => h("span", { title: when(e.time) }, ago(e.time)) },
        { label: "level", value: (e) => status(e.level) },
        { label: "event", value: (e) => e.name },
        { label: "message", value: (e) => h("span", { class: "clip", title: e.message ?? "" }, e.message ?? "") },
      ], events.data, { empty: "No events." })),
  );
}

function errorText(trace) {
  return (trace.spans ?? []).find((span) => span.error)?.error ?? "";
}

async function refresh() {
  const ready = await api("/health/ready").catch((error) => error.body ?? { status: "unreachable", components: {} });
  mount(sections.deployments, deployments(ready));
  mount(sections.latency, await latency());
}

function schedule() {
  clearTimeout(timer);
  if (live) timer = setTimeout(() => guarded(async () => { await refresh(); schedule(); }), REFRESH);
}

guarded(async () => {
  mount(app(), sections.deployments, sections.latency, sections.keys, sections.errors);
  await refresh();
  const [keysView, errorsView] = await Promise.all([keys(), errors()]);
  mount(sections.keys, keysView);
  mount(sections.errors, errorsView);
  schedule();
});
