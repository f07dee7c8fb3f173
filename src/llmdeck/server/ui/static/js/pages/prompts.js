// Prompts: every prompt in the registry with its labels.

import { api } from "../lib/api.js";
import { app, guarded, h, mount, table } from "../lib/dom.js";
import { ago, when } from "../lib/format.js";

const targets = (label) => label.targets.map((t) => `v${t.version}${label.targets.length > 1 ? ` ${Math.round(t.weight * 100)}%` : ""}`).join(" + ");

guarded(async () => {
  const { prompts } = await api("/api/prompts");
  mount(app(), h("section", { class: "card" }, table([
    { label: "name", value: (p) => h("a", { href: `/ui/prompts/${encodeURIComponent(p.name)}` }, p.name) },
    { label: "latest", num: true, value: (p) => `v${p.latest_version}` },
    { label: "labels", value: (p) => p.labels.filter((l) => l.label !== "latest").map((l) =>
      h("span", { class: "chip", title: `${l.label} → ${targets(l)}${l.canary ? " (canary)" : ""}` }, `${l.label} → ${targets(l)}`)) },
    { label: "updated", value: (p) => h("span", { title: when(p.updated_at) }, ago(p.updated_at)) },
    { label: "", value: (p) => h("a", { href: `/ui/playground?prompt=${encodeURIComponent(p.name)}` }, "Try"), cls: "hide-narrow" },
  ], prompts, { empty: "No prompts yet: push some with `llmdeck prompts push DIR`." })));
});
