// Building the page: elements from data (text, never HTML), toasts and confirmations.

/**
 * h("a", {href, class, onclick, dataset, ...}, ...children): an element. Children are nodes,
 * strings (as text), numbers, arrays, or null/false (skipped).
 */
export function h(tag, attrs, ...children) {
  const el = tag.includes(":")
    ? document.createElementNS("http://www.w3.org/2000/svg", tag.split(":")[1])
    : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else if (name === "width%" ) {
      el.style.width = `${Math.max(0, Math.min(100, value))}%`;
    } else if (name === "left%") {
      el.style.left = `${value}%`;
    } else if (name === "value" && "value" in el && !(el instanceof SVGElement)) {
      el.value = value;
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace an element's content. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const app = () => document.getElementById("app");
export const pageData = () => document.getElementById("main").dataset;

export function setTitle(text) {
  document.getElementById("title").textContent = text;
  document.title = `${text} · llmdeck`;
}

/** A short message in the corner. */
export function toast(message, bad = false) {
  const el = h("div", { class: bad ? "toast bad" : "toast" }, message);
  document.getElementById("toasts").append(el);
  setTimeout(() => el.remove(), bad ? 7000 : 3500);
}

/** Ask before doing something that changes production; resolves to true or false. */
export function confirmAction(title, body, action = "Confirm", danger = false) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { "aria-labelledby": "confirm-title" },
      h("form", { method: "dialog", class: "stack" },
        h("h2", { id: "confirm-title" }, title),
        h("p", {}, body),
        h("div", { class: "row" },
          h("span", { class: "spacer" }),
          h("button", { value: "cancel" }, "Cancel"),
          h("button", { value: "ok", class: danger ? "primary danger-fill" : "primary" }, action),
        ),
      ),
    );
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A table from column specs [{label, value: row => node|text, num?, cls?}] and rows. */
export function table(columns, rows, { empty = "Nothing here yet.", rowAttrs } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h("div", { class: "table-wrap" },
    h("table", {},
      h("thead", {}, h("tr", {}, columns.map((c) =>
        h("th", { class: [c.num ? "num" : "", c.cls ?? ""].join(" ").trim() || null, scope: "col" }, c.label)))),
      h("tbody", {}, rows.map((row) => h("tr", rowAttrs ? rowAttrs(row) : {}, columns.map((c) =>
        h("td", { class: [c.num ? "num" : "", c.cls ?? ""].join(" ").trim() || null }, c.value(row)))))),
    ),
  );
}

/** A labelled form control. */
export function field(label, control) {
  return h("label", { class: "field" }, label, control);
}

/** A <select> of [value, label] options. */
export function select(options, value, attrs = {}) {
  return h("select", attrs, options.map(([v, label]) =>
    h("option", { value: v, selected: String(v) === String(value) }, label ?? v)));
}

/** A status pill. */
export function status(text) {
  const value = String(text ?? "unknown");
  return h("span", { class: `status ${value.replace(/\s+/g, "-")}` }, value.replace("_", " "));
}

/** A horizontal share bar (0..1). */
export function bar(share, kind = "") {
  return h("div", { class: `bar ${kind}`, role: "presentation" }, h("span", { "width%": share * 100 }));
}

/** Run a page's loader, showing its failure in place of the page; marks the page loaded. */
export async function guarded(work) {
  try {
    await work();
  } catch (error) {
    mount(app(), h("p", { class: "error", role: "alert" }, `Could not load: ${error.message}`));
  } finally {
    app().dataset.loaded = "true";
  }
}
