// Traces: a filtered list over /api/traces, newest first, a page at a time (keyset cursor).

import { api } from "../lib/api.js";
import { app, field, guarded, h, mount, select, status, table } from "../lib/dom.js";
import { ago, int, ms, usd, when } from "../lib/format.js";

const FILTERS = ["q", "model", "status", "tag", "user", "score", "score_min", "start"];
const SINCE = [["", "any time"], ["1h", "last hour"], ["24h", "last 24 hours"], ["7d", "last 7 days"], ["30d", "last 30 days"]];
const current = new URLSearchParams(location.search);
let cursor = null;
let rows = [];

function filters() {
  const values = {};
  for (const name of FILTERS) values[name] = current.get(name) ?? "";
  return values;
}

function form(aliases) {
  const v = filters();
  const input = (name, label, attrs = {}) => field(label, h("input", { name, value: v[name], ...attrs }));
  return h("form", { class: "toolbar", role: "search", onsubmit: (e) => { e.preventDefault(); apply(e.target); } },
    input("q", "Text", { type: "search", placeholder: "in name, input, output or id", size: 26 }),
    input("model", "Model", { list: "aliases", size: 10 }),
    h("datalist", { id: "aliases" }, aliases.map((a) => h("option", { value: a }))),
    field("Status", select([["", "any"], ["ok", "ok"], ["error", "error"]], v.status, { name: "status" })),
    input("tag", "Tag", { size: 8 }),
    input("user", "User", { size: 8 }),
    input("score", "Score name", { size: 8 }),
    input("score_min", "Score ≥", { type: "number", step: "any", size: 4 }),
    field("Time", select(SINCE, v.start, { name: "start" })),
    h("button", { type: "submit", class: "primary" }, "Search"),
    h("button", { type: "button", onclick: () => { history.replaceState(null, "", location.pathname); location.reload(); } }, "Clear"),
  );
}

function apply(formEl) {
  const data = new FormData(formEl);
  for (const name of FILTERS) {
    const value = String(data.get(name) ?? "").trim();
    if (value) current.set(name, value); else current.delete(name);
  }
  history.replaceState(null, "", `${location.pathname}?${current}`);
  rows = [];
  cursor = null;
  guarded(() => more(true));
}

const COLUMNS = [
  { label: "time", value: (t) => h("span", { title: when(t.start_time) }, ago(t.start_time)) },
  { label: "name", value: (t) => h("a", { href: `/ui/traces/${t.id}` }, t.name ?? t.id) },
  { label: "status", value: (t) => status(t.status) },
  { label: "latency", num: true, value: (t) => ms(t.latency_ms) },
  { label: "tokens", num: true, value: (t) => int((t.input_tokens ?? 0) + (t.output_tokens ?? 0)), cls: "hide-narrow" },
  { label: "cost", num: true, value: (t) => usd(t.cost), cls: "hide-narrow" },
  { label: "user", value: (t) => t.user_id ?? "", cls: "hide-narrow" },
  { label: "tags", value: (t) => (t.tags ?? []).map((tag) => h("span", { class: "chip" }, tag)), cls: "hide-narrow" },
  { label: "scores", value: (t) => t.scores.map((s) => h("span", { class: "chip" }, `${s.name} ${s.string_value ?? +Number(s.value).toFixed(3)}`)), cls: "hide-narrow" },
];

async function more(fresh) {
  const params = { ...filters(), limit: 50, cursor };
  const page = await api("/api/traces", { params });
  rows = rows.concat(page.data);
  cursor = page.next_cursor;
  render(fresh);
}

let aliases = [];

function render() {
  mount(app(),
    form(aliases),
    h("section", { class: "card", "aria-label": "Traces" },
      table(COLUMNS, rows, { empty: "No traces match." }),
      cursor ? h("div", { class: "pager" }, h("button", { type: "button", onclick: () => guarded(() => more(false)) }, "Older traces")) : null,
    ),
  );
}

guarded(async () => {
  const ready = await api("/health/ready").catch(() => null);
  aliases = Object.keys(ready?.components?.deployments?.models ?? {});
  await more(true);
});
