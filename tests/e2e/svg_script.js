// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Runs the script of an SVG flame graph written by `ember export --format svg` against a small
 * stand-in for the browser's DOM built from the file, and drives it as a person would: hover a
 * frame, search, zoom, unzoom, toggle case. Prints one line per check; exits 1 on the first
 * failure. Usage: node svg_script.js FILE.svg
 */
"use strict";
const fs = require("fs");
const svg = fs.readFileSync(process.argv[2], "utf8");

function unescape(s) {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&amp;/g, "&");
}
function attrs(s) {
  const a = {};
  for (const m of s.matchAll(/([\w:-]+)="([^"]*)"/g)) a[m[1]] = unescape(m[2]);
  return a;
}
class Node {
  constructor(tag, a, text) {
    this.tagName = tag;
    this.attrs = a || {};
    this.children = [];
    this.parentNode = null;
    this.id = this.attrs.id || "";
    const cls = new Set((this.attrs.class || "").split(/\s+/).filter(Boolean));
    this.classList = {
      add: (c) => cls.add(c), remove: (c) => cls.delete(c), contains: (c) => cls.has(c),
    };
    this.firstChild = { nodeValue: text === undefined ? "" : text };
  }
  get textContent() { return this.firstChild.nodeValue; }
  set textContent(v) { this.firstChild.nodeValue = v; }
  getAttribute(k) { return k in this.attrs ? this.attrs[k] : null; }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  hasAttribute(k) { return k in this.attrs; }
  append(c) { c.parentNode = this; this.children.push(c); return c; }
  getElementsByTagName(t) {
    let out = [];
    for (const c of this.children) {
      if (c.tagName === t) out.push(c);
      out = out.concat(c.getElementsByTagName(t));
    }
    return out;
  }
}
const root = new Node("svg", attrs(svg.match(/<svg ([^>]*)>/)[1]));
const byId = {};
for (const m of svg.matchAll(/<text ([^>]*)>([^<]*)<\/text>/g)) {
  const a = attrs(m[1]);
  if (a.id) byId[a.id] = root.append(new Node("text", a, unescape(m[2])));
}
const frames = byId.frames = root.append(new Node("g", { id: "frames" }));
for (const m of svg.matchAll(/<g ([^>]*)><title>([^<]*)<\/title><rect ([^>]*)\/><text ([^>]*)>([^<]*)<\/text><\/g>/g)) {
  const g = frames.append(new Node("g", attrs(m[1])));
  g.append(new Node("title", {}, unescape(m[2])));
  g.append(new Node("rect", attrs(m[3])));
  g.append(new Node("text", attrs(m[4]), unescape(m[5])));
}
const handlers = {};
global.window = { addEventListener: (ev, fn) => { handlers[ev] = fn; } };
global.document = {
  getElementById: (id) => byId[id] || null,
  getElementsByTagName: (t) => (t === "svg" ? [root] : root.getElementsByTagName(t)),
};
let answer = null;
global.prompt = () => answer;
const code = [...svg.matchAll(/<script[^>]*><!\[CDATA\[([\s\S]*?)\]\]><\/script>/g)].map((m) => m[1]);
// The constants and the functions become globals, as in the page.
(0, eval)(code.join("\n").replace(/"use strict";/g, ""));
init({});

function fail(what) { console.log("FAIL " + what); process.exit(1); }
function check(cond, what) { if (!cond) fail(what); console.log("ok " + what); }
function frame(name, n) {
  const all = frames.children.filter((g) => g.getElementsByTagName("title")[0].textContent.startsWith(name + " ("));
  return all[n || 0];
}
const rect = (g) => g.getElementsByTagName("rect")[0];
const W = parseFloat(root.getAttribute("width"));

// Hover.
const leafb = frame("chain_leaf_b");
handlers.mouseover({ target: rect(leafb) });
check(byId.details.textContent === "Function: chain_leaf_b (20 samples, 43.48%)", "hover shows name, samples, share: " + byId.details.textContent);
handlers.mouseout({ target: rect(leafb) });
check(byId.details.textContent === " ", "leaving clears it");
// Search: highlighted, and the matched share counts nested matches once.
answer = "chain_leaf";
handlers.click({ target: byId.search });
check(rect(leafb).getAttribute("fill") === "rgb(230,0,230)", "search highlights matches");
check(byId.matched.textContent === "Matched: 84.8%", "matched share of leaf_a and leaf_b: " + byId.matched.textContent);
check(!byId.matched.classList.contains("hide"), "matched share shown");
handlers.click({ target: byId.search });
check(rect(leafb).getAttribute("fill") !== "rgb(230,0,230)" && byId.matched.classList.contains("hide"), "Reset Search restores colours");
answer = "chain_mid|chain_leaf";
handlers.click({ target: byId.search });
check(byId.matched.textContent === "Matched: 84.8%", "nested matches counted once: " + byId.matched.textContent);
handlers.click({ target: byId.search });
answer = "CHAIN_LEAF";
handlers.click({ target: byId.ignorecase });
handlers.click({ target: byId.search });
check(byId.matched.textContent === "Matched: 84.8%", "Ctrl-I: case ignored");
handlers.click({ target: byId.search });
// Zoom into the chain_mid2 above chain's leaf_b: it fills the width, its parents fade, the rest
// hides, its children rescale.
const mid2 = frames.children.find((g) => g.getElementsByTagName("title")[0].textContent.startsWith("chain_mid2 (") &&
  g.getAttribute("data-x") === leafb.getAttribute("data-x") && g.getAttribute("data-w") === "20");
handlers.click({ target: rect(mid2) });
check(Math.abs(parseFloat(rect(mid2).getAttribute("width")) - (W - 20)) < 0.2, "click zooms: full width");
check(frame("main", 0).classList.contains("parent") || frame("main", 1).classList.contains("parent"), "ancestors fade");
check(frame("spin<&\"quoted\">").classList.contains("hide"), "other processes hide");
check(!leafb.classList.contains("hide") && Math.abs(parseFloat(rect(leafb).getAttribute("width")) - (W - 20)) < 0.2 &&
  frame("chain_leaf_a").classList.contains("hide"), "children rescale, other branches hide");
check(leafb.getElementsByTagName("text")[0].textContent === "chain_leaf_b", "labels follow the new width");
check(!byId.unzoom.classList.contains("hide"), "Reset Zoom shown");
handlers.click({ target: byId.unzoom });
check(!frame("spin<&\"quoted\">").classList.contains("hide") && Math.abs(parseFloat(rect(frame("all")).getAttribute("width")) - (W - 20)) < 0.2, "Reset Zoom restores");
