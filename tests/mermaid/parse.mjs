// Parse Mermaid diagrams with Mermaid's own parser (tests/test_diagrams.py).
// stdin: JSON [{"name": ..., "text": ...}]; stdout: JSON [{"name", "ok", "type"|"error"}].
// mermaid.parse needs a DOM (it sanitizes labels with DOMPurify): jsdom provides one.
import { JSDOM } from "jsdom";
import { readFileSync } from "node:fs";

const dom = new JSDOM("<!doctype html><html><body></body></html>", { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
for (const key of ["Element", "HTMLElement", "SVGElement", "Node", "DOMParser"]) {
  if (!(key in globalThis)) globalThis[key] = dom.window[key];
}
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });

const diagrams = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const d of diagrams) {
  try {
    const parsed = await mermaid.parse(d.text);
    results.push({ name: d.name, ok: true, type: parsed.diagramType });
  } catch (err) {
    results.push({ name: d.name, ok: false, error: String((err && err.message) || err).slice(0, 800) });
  }
}
process.stdout.write(JSON.stringify(results));
