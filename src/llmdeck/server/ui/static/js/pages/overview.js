// Overview: the gateway's traffic over a chosen range, from the roll-ups
// (/api/analytics/timeseries and /summary), with a breakdown, and the cache's savings.

import { api } from "../lib/api.js";
import { lineChart } from "../lib/chart.js";
import { app, bar, field, guarded, h, mount, select, table } from "../lib/dom.js";
import { int, ms, num, pct, usd } from "../lib/format.js";

const RANGES = [
  ["1h", "Last hour", 60],
  ["6h", "Last 6 hours", 300],
  ["24h", "Last 24 hours", 900],
  ["7d", "Last 7 days", 3 * 3600],
  ["30d", "Last 30 days", 86400],
];
const GROUPS = [
  ["model_alias", "model"],
  ["deployment", "deployment"],
  ["key", "key"],
  ["prompt", "prompt version"],
];

const state = new URLSearchParams(location.search);
let range = state.get("range") ?? "24h";
let group = state.get("by") ?? "model_alias";

function remember() {
  history.replaceState(null, "", `?range=${range}&by=${group}`);
}

function tiles(total, cache) {
  const t = total ?? {};
  const tile = (label, value, sub) => h("div", { class: "tile" },
    h("div", { class: "label" }, label), h("div", { class: "value" }, value), sub ? h("div", { class: "sub" }, sub) : null);
  const served = t.requests ? t.cache_hits / t.requests : null;
  return h("section", { class: "tiles", "aria-label": "Totals" },
    tile("Requests", int(t.requests ?? 0), `${num(t.throughput ? t.throughput * 60 : 0)}/min`),
    tile("Error rate", pct(t.error_rate ?? 0), `${int(t.errors ?? 0)} errors`),
    tile("Latency p50", ms(t.latency_ms?.p50), `p95 ${ms(t.latency_ms?.p95)}`),
    tile("Time to first token", ms(t.ttft_ms?.p50), `p95 ${ms(t.ttft_ms?.p95)}`),
    tile("Tokens", num((t.input_tokens ?? 0) + (t.output_tokens ?? 0)), `${num(t.input_tokens ?? 0)} in · ${num(t.output_tokens ?? 0)} out`),
    tile("Cost", usd(t.cost ?? 0)),
    tile("Cache hit rate", pct(served), `${int(t.cache_hits ?? 0)} hits`),
    tile("Cache saved", usd(t.cache_saved_usd ?? 0), cache?.enabled ? `${usd(sumSaved(cache))} since start` : "cache off"),
  );
}

const sumSaved = (cache) => Object.values(cache.aliases ?? {}).reduce((a, s) => a + (s.saved_usd ?? 0), 0);

function charts(points) {
  const at = (pick) => points.map((p) => [p.time, pick(p)]);
  const chart = (title, format, series) => lineChart({ title, format, series });
  return h("section", { class: "grid two", "aria-label": "Charts" },
    chart("Requests", num, [
      { name: "requests", points: at((p) => p.requests) },
      { name: "errors", points: at((p) => p.errors) },
    ]),
    chart("Error rate", (v) => pct(v), [{ name: "error rate", points: at((p) => (p.requests ? p.error_rate : null)) }]),
    chart("Latency", ms, [
      { name: "p50", points: at((p) => p.latency_ms.p50) },
      { name: "p95", points: at((p) => p.latency_ms.p95) },
    ]),
    chart("Time to first token", ms, [
      { name: "p50", points: at((p) => p.ttft_ms.p50) },
      { name: "p95", points: at((p) => p.ttft_ms.p95) },
    ]),
    chart("Tokens", num, [
      { name: "input", points: at((p) => p.input_tokens) },
      { name: "output", points: at((p) => p.output_tokens) },
    ]),
    chart("Cost", usd, [{ name: "cost", points: at((p) => p.cost) }]),
    chart("Cache hit rate", (v) => pct(v), [{ name: "hit rate", points: at((p) => (p.requests ? p.cache_hits / p.requests : null)) }]),
    chart("Cache savings", usd, [{ name: "saved", points: at((p) => p.cache_saved_usd ?? 0) }]),
  );
}

function label(group, row) {
  const g = row.group;
  if (group === "prompt") return g.prompt_name ? `${g.prompt_name} v${g.prompt_version}` : "(no prompt)";
  const value = g[group === "key" ? "key_id" : group];
  if (!value) return group === "deployment" ? "(cache hits, no deployment)" : "(none)";
  return value;
}

function breakdown(rows) {
  const top = Math.max(1, ...rows.map((r) => r.requests));
  rows.sort((a, b) => b.requests - a.requests);
  return table([
    { label: GROUPS.find(([g]) => g === group)[1], value: (r) => label(group, r) },
    { label: "requests", num: true, value: (r) => int(r.requests) },
    { label: "", value: (r) => bar(r.requests / top), cls: "hide-narrow" },
    { label: "errors", num: true, value: (r) => pct(r.error_rate) },
    { label: "p50", num: true, value: (r) => ms(r.latency_ms.p50) },
    { label: "p95", num: true, value: (r) => ms(r.latency_ms.p95), cls: "hide-narrow" },
    { label: "tokens", num: true, value: (r) => num(r.input_tokens + r.output_tokens) },
    { label: "cost", num: true, value: (r) => usd(r.cost) },
    { label: "cache hits", num: true, value: (r) => int(r.cache_hits), cls: "hide-narrow" },
  ], rows, { empty: "No calls in this range." });
}

async function load() {
  remember();
  const bucket = RANGES.find(([r]) => r === range)?.[2] ?? 900;
  const [series, summary, groups, cache] = await Promise.all([
    api("/api/analytics/timeseries", { params: { start: range, bucket } }),
    api("/api/analytics/summary", { params: { start: range } }),
    api("/api/analytics/summary", { params: { start: range, group_by: group } }),
    api("/api/cache/stats"),
  ]);
  const points = series.series[0]?.points ?? [];
  const empty = points.length ? points : emptyPoints(series);
  mount(app(),
    controls(),
    tiles(summary.series[0], cache),
    charts(empty),
    h("section", { class: "card", "aria-labelledby": "by" },
      h("h2", { id: "by" }, `By ${GROUPS.find(([g]) => g === group)[1]}`),
      breakdown(groups.series),
    ),
  );
}

function emptyPoints(series) {
  const out = [];
  for (let t = series.start; t < series.end; t += series.bucket) {
    out.push({ time: t, requests: 0, errors: 0, error_rate: 0, latency_ms: {}, ttft_ms: {}, input_tokens: 0, output_tokens: 0, cost: 0, cache_hits: 0, cache_saved_usd: 0 });
  }
  return out;
}

function controls() {
  const ranges = select(RANGES.map(([v, l]) => [v, l]), range, { id: "range", onchange: (e) => { range = e.target.value; guarded(load); } });
  const groups = select(GROUPS, group, { id: "group", onchange: (e) => { group = e.target.value; guarded(load); } });
  return h("div", { class: "toolbar" },
    field("Range", ranges),
    field("Break down by", groups),
    h("span", { class: "spacer" }),
    h("button", { type: "button", onclick: () => guarded(load) }, "Refresh"),
  );
}

guarded(load);
