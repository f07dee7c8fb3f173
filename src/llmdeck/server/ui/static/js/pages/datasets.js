// Datasets: every evaluation dataset with its newest version, and the items of the chosen one.

import { api } from "../lib/api.js";
import { app, guarded, h, mount, status, table } from "../lib/dom.js";
import { ago, int, when } from "../lib/format.js";

const text = (v) => (v === null || v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v));
const cut = (v, n = 90) => (v.length > n ? `${v.slice(0, n - 1)}…` : v);

guarded(async () => {
  const { datasets } = await api("/api/datasets");
  const chosen = new URLSearchParams(location.search).get("name") ?? datasets[0]?.name;
  const list = h("section", { class: "card" }, table([
    { label: "name", value: (d) => h("a", { href: `/ui/datasets?name=${encodeURIComponent(d.name)}`, "aria-current": d.name === chosen ? "true" : null }, d.name) },
    { label: "version", num: true, value: (d) => `v${d.latest_version}` },
    { label: "items", num: true, value: (d) => int(d.item_count) },
    { label: "state", value: (d) => (d.draft ? status("draft") : d.locked ? status("locked") : status("open")) },
    { label: "updated", value: (d) => h("span", { title: when(d.updated_at) }, ago(d.updated_at)), cls: "hide-narrow" },
    { label: "description", value: (d) => d.description ?? "", cls: "hide-narrow" },
  ], datasets, { empty: "No datasets: import one with `llmdeck eval datasets import NAME FILE.jsonl` or POST /api/datasets." }));
  if (!chosen) { mount(app(), list); return; }
  const { version, items } = await api(`/api/datasets/${encodeURIComponent(chosen)}/items`, { params: { limit: 200 } });
  const exportLink = (fmt) => h("a", { href: `/api/datasets/${encodeURIComponent(chosen)}/export?format=${fmt}&version=${version}`, download: "" }, fmt.toUpperCase());
  mount(app(), list, h("section", { class: "card", id: "items" },
    h("h2", {}, `${chosen} v${version}`, " ", h("small", { class: "muted" }, "export: ", exportLink("jsonl"), " · ", exportLink("csv"))),
    table([
      { label: "id", value: (i) => i.id },
      { label: "input", value: (i) => cut(text(i.input ?? i.variables)) },
      { label: "expected", value: (i) => cut(text(i.expected), 60) },
      { label: "context", num: true, value: (i) => int(i.context?.length ?? 0), cls: "hide-narrow" },
      { label: "relevant ids", value: (i) => (i.relevant_ids ?? []).join(", "), cls: "hide-narrow" },
    ], items, { empty: "This version has no items." })));
});
