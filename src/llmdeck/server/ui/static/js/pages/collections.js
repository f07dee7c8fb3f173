// Collections: every vector collection with its size, embedding model and index.

import { api } from "../lib/api.js";
import { app, guarded, h, mount, status, table } from "../lib/dom.js";
import { ago, bytes, int, pct, when } from "../lib/format.js";

guarded(async () => {
  const { collections } = await api("/api/collections");
  const stats = await Promise.all(collections.slice(0, 100).map((c) =>
    api(`/api/collections/${encodeURIComponent(c.name)}`).catch(() => null)));
  const rows = collections.map((c, i) => ({ ...c, stats: stats[i] }));
  mount(app(), h("section", { class: "card" }, table([
    { label: "name", value: (c) => h("a", { href: `/ui/collections/${encodeURIComponent(c.name)}` }, c.name) },
    { label: "items", num: true, value: (c) => int(c.stats?.rows) },
    { label: "size", num: true, value: (c) => bytes(c.stats?.bytes), cls: "hide-narrow" },
    { label: "embedding", value: (c) => `${c.model} (${c.dim}d, ${c.metric})` },
    { label: "index", value: (c) => c.index, cls: "hide-narrow" },
    { label: "backend", value: (c) => c.backend, cls: "hide-narrow" },
    { label: "recall", num: true, value: (c) => (c.stats?.quality ? pct(c.stats.quality.recall) : "–") },
    { label: "migration", value: (c) => (c.stats?.migration ? status(c.stats.migration.state) : ""), cls: "hide-narrow" },
    { label: "tuned", value: (c) => (c.tuned_at ? h("span", { title: when(c.tuned_at) }, ago(c.tuned_at)) : "–"), cls: "hide-narrow" },
  ], rows, { empty: "No collections: create one with `llmdeck rag ingest` or POST /api/collections." })));
});
