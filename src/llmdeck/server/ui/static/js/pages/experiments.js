// Experiments: runs with their score means; two runs compared per item and overall, with the
// distribution of their scores; and the online evaluators' scores over time.

import { api } from "../lib/api.js";
import { lineChart } from "../lib/chart.js";
import { app, field, guarded, h, mount, select, status, table } from "../lib/dom.js";
import { ago, int, usd, when } from "../lib/format.js";

const f3 = (v) => (v === null || v === undefined ? "–" : v.toFixed(3));
const signed = (v) => (v === null || v === undefined ? "–" : `${v >= 0 ? "+" : ""}${v.toFixed(3)}`);
const BINS = 10;
const cut = (v, n = 80) => (v && v.length > n ? `${v.slice(0, n - 1)}…` : v ?? "");

function histogram(title, runs) {
  // runs: [{name, values: [0..1]}]; bars side by side per bin
  const counts = runs.map((r) => {
    const bins = new Array(BINS).fill(0);
    r.values.forEach((v) => { bins[Math.min(BINS - 1, Math.floor(v * BINS))] += 1; });
    return bins;
  });
  const max = Math.max(1, ...counts.flat());
  const width = 560; const height = 170; const pad = 24;
  const slot = (width - pad) / BINS; const barW = (slot - 4) / runs.length;
  const summary = runs.map((r, n) => `${r.name}: ${counts[n].join(", ")}`).join("; ");
  const svg = h("svg:svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${title}. Items per score tenth, 0 to 1. ${summary}` });
  counts.forEach((bins, n) => bins.forEach((c, b) => {
    const barH = (c / max) * (height - pad - 8);
    svg.append(h("svg:rect", { class: `dot swatch-${n % 6}`, x: pad + b * slot + 2 + n * barW, y: height - pad - barH, width: barW, height: barH },
      h("svg:title", {}, `${runs[n].name}: ${c} items in [${(b / BINS).toFixed(1)}, ${((b + 1) / BINS).toFixed(1)})`)));
  }));
  const axis = h("svg:g", { class: "axis" });
  for (const at of [0, 0.5, 1]) axis.append(h("svg:text", { x: pad + at * (width - pad), y: height - 6, "text-anchor": at === 0 ? "start" : at === 1 ? "end" : "middle" }, at.toFixed(1)));
  svg.append(axis);
  return h("figure", { class: "chart card histogram" },
    h("figcaption", { class: "chart-title" }, h("h2", {}, title)),
    h("div", { class: "plot" }, svg),
    h("div", { class: "legend" }, runs.map((r, n) => h("span", {}, h("i", { class: `swatch-${n % 6}` }), r.name))));
}

async function comparison(a, b) {
  const [diff, runA, runB] = await Promise.all([
    api("/api/experiments/compare", { params: { a, b } }),
    api(`/api/experiments/${a}`), api(`/api/experiments/${b}`),
  ]);
  const names = diff.differences.map((d) => d.evaluator);
  const charts = names.map((name) => histogram(`${name}: score distribution`, [runA, runB].map((run) => ({
    name: run.id, values: run.results.map((r) => r.scores?.[name]?.value).filter((v) => typeof v === "number"),
  }))));
  const changed = diff.items.filter((i) => names.some((n) => i.a[n] !== i.b[n]));
  return h("section", { id: "compare" },
    h("section", { class: "card" }, h("h2", {}, `${a} → ${b}`),
      table([
        { label: "evaluator", value: (d) => d.evaluator },
        { label: a, num: true, value: (d) => f3(d.mean_a) },
        { label: b, num: true, value: (d) => f3(d.mean_b) },
        { label: "delta", num: true, value: (d) => signed(d.delta) },
        { label: `${Math.round(diff.confidence * 100)}% interval`, value: (d) => (d.low === null ? "–" : `[${signed(d.low)}, ${signed(d.high)}]`) },
        { label: "items", num: true, value: (d) => int(d.paired) },
        { label: "verdict", value: (d) => (d.regression ? status("regression") : d.improvement ? status("improvement") : "no credible change") },
      ], diff.differences)),
    h("div", { class: "grid two" }, charts),
    h("section", { class: "card" }, h("h2", {}, `Items whose scores changed (${changed.length} of ${diff.items.length})`),
      table([
        { label: "item", value: (i) => i.item_id },
        ...names.map((n) => ({ label: n, num: true, value: (i) => `${f3(i.a[n])} → ${f3(i.b[n])}` })),
        { label: `answer ${a}`, value: (i) => h("span", { title: i.output_a ?? "" }, cut(i.output_a)), cls: "hide-narrow" },
        { label: `answer ${b}`, value: (i) => h("span", { title: i.output_b ?? "" }, cut(i.output_b)), cls: "hide-narrow" },
      ], changed, { empty: "No item changed its scores." })));
}

guarded(async () => {
  const [{ experiments }, online] = await Promise.all([
    api("/api/experiments"), api("/api/experiments/online").catch(() => null),
  ]);
  const params = new URLSearchParams(location.search);
  let a = params.get("a") ?? experiments[1]?.id;
  let b = params.get("b") ?? experiments[0]?.id;
  const runs = h("section", { class: "card" }, table([
    { label: "run", value: (r) => r.id },
    { label: "suite", value: (r) => r.name },
    { label: "status", value: (r) => status(r.status) },
    { label: "items", num: true, value: (r) => `${int(r.done_count)}/${int(r.item_count)}` },
    { label: "scores (mean)", value: (r) => Object.entries(r.scores ?? {}).map(([k, v]) => `${k} ${f3(v.mean)}`).join(" · ") },
    { label: "cost", num: true, value: (r) => usd(r.cost), cls: "hide-narrow" },
    { label: "started", value: (r) => h("span", { title: when(r.created_at) }, ago(r.created_at)), cls: "hide-narrow" },
  ], experiments, { empty: "No experiments yet: run `llmdeck eval run SUITE.yaml` or POST /api/experiments." }));
  const options = experiments.map((r) => [r.id, `${r.id} · ${r.name} · ${ago(r.created_at)}`]);
  const slot = h("div", {});
  const pickA = select(options, a, { name: "a" });
  const pickB = select(options, b, { name: "b" });
  const show = async () => {
    a = pickA.value; b = pickB.value;
    history.replaceState(null, "", `?a=${a}&b=${b}`);
    mount(slot, a && b ? await comparison(a, b) : "");
  };
  pickA.addEventListener("change", show);
  pickB.addEventListener("change", show);
  const onlineCharts = Object.entries(online?.series ?? {}).length
    ? lineChart({ title: "Online evaluator scores (hourly mean)", format: f3,
      series: Object.entries(online.series).map(([name, points]) => ({ name, points: points.map((p) => [p.t, p.mean]) })) })
    : null;
  mount(app(), runs,
    experiments.length > 1 ? h("section", { class: "card toolbar" }, h("h2", {}, "Compare two runs"), field("baseline", pickA), field("candidate", pickB)) : null,
    slot, onlineCharts);
  if (experiments.length > 1) await show();
});
