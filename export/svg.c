// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The SVG flame graph, drawn straight from the folded lines without building a tree: sorted frame
 * by frame (';' before any character), the lines that share a prefix are contiguous, so one scan
 * with a stack of open frames sees each frame of the graph open (its x is the samples before it)
 * and close (its width is the samples under it). A first scan finds the depth and the largest
 * change to draw, the second writes the frames. Memory is the lines and one stack: the distinct
 * stacks, never the samples. Frames narrower than a tenth of a pixel are left out, with
 * everything above them. Colours come from a hash of the name, so the same function has the same
 * colour in every graph. The script in the file does the rest in the browser: tooltips, zoom,
 * search.
 */
#include "export/svg.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "export/export_internal.h"
#include "export/folded.h"

#define SVG_DEFAULT_WIDTH 1200
#define SVG_FRAME_H 16
#define SVG_FONT 12
#define SVG_XPAD 10
#define SVG_TOP (SVG_FONT * 3)
#define SVG_BOTTOM (SVG_FONT * 2 + 10)
#define SVG_MIN_WIDTH 0.1   /* pixels */
#define SVG_FONT_WIDTH 0.59 /* average character width, in font sizes */

const char *const export_svg_palettes[] = {
	"hot", "mem", "io", "red", "green", "blue", "aqua", "yellow", "purple", "orange", NULL,
};

/* A frame of the graph: a prefix of the lines, `len` bytes of `name` its last frame. */
struct node {
	const char *name;
	size_t len;
	uint64_t count; /* samples of the slice */
	double base;	/* differential: the base's samples, scaled to the slice's total */
	uint64_t x;	/* samples left of it */
};

/* A line of the merged slices. */
struct mline {
	const char *text;
	uint64_t count;
	double base;
};

struct svg {
	FILE *out;
	const struct export_options *opt;
	bool diff;
	uint64_t total;
	double scale; /* pixels per sample */
	double maxdelta;
	int maxdepth;
	unsigned int width, height;
	const char *palette;
	int err;
};

/* strcmp with ';' before every other character: frame by frame. */
static int cmp_frames(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = *a == ';' ? 1 : (unsigned char)*a;
		unsigned char y = *b == ';' ? 1 : (unsigned char)*b;

		if (x != y || !x)
			return x - y;
	}
}

static int cmp_line_frames(const void *a, const void *b)
{
	return cmp_frames(((const struct export_line *)a)->text,
			  ((const struct export_line *)b)->text);
}

typedef void (*node_fn)(struct svg *s, const struct node *n, int depth);

/*
 * The scan: calls fn on every frame of the graph as it closes (children before their parent),
 * the root ("all", depth 0) last. `stack` has room for the deepest line.
 */
static void scan(struct svg *s, const struct mline *v, size_t n, struct node *stack, node_fn fn)
{
	uint64_t cursor = 0;
	int depth = 0; /* open frames, the root not counted */

	stack[0] = (struct node){ .name = "all", .len = 3 };
	for (size_t i = 0; i < n; i++) {
		const char *p = v[i].text;
		int d = 0;

		/* The frames this line shares with the open ones. */
		while (*p && d < depth) {
			const char *end = strchr(p, ';');
			size_t len = end ? (size_t)(end - p) : strlen(p);
			struct node *o = &stack[d + 1];

			if (o->len != len || memcmp(o->name, p, len))
				break;
			d++;
			p += len + (end ? 1 : 0);
		}
		while (depth > d) {
			fn(s, &stack[depth], depth);
			depth--;
		}
		while (*p) {
			const char *end = strchr(p, ';');
			size_t len = end ? (size_t)(end - p) : strlen(p);

			stack[++depth] = (struct node){ .name = p, .len = len, .x = cursor };
			p += len + (end ? 1 : 0);
		}
		for (int k = 0; k <= depth; k++) {
			stack[k].count += v[i].count;
			stack[k].base += v[i].base;
		}
		cursor += v[i].count;
	}
	while (depth > 0) {
		fn(s, &stack[depth], depth);
		depth--;
	}
	fn(s, &stack[0], 0);
}

/* The first scan: how deep and how much change there is to draw. */
static void measure(struct svg *s, const struct node *n, int depth)
{
	if ((double)n->count * s->scale < SVG_MIN_WIDTH)
		return;
	if (depth > s->maxdepth)
		s->maxdepth = depth;
	if (s->diff && fabs((double)n->count - n->base) > s->maxdelta)
		s->maxdelta = fabs((double)n->count - n->base);
}

static uint32_t name_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static void color(const struct svg *s, const struct node *n, char *buf, size_t len)
{
	uint32_t h = name_hash(n->name, n->len);
	double v1 = (h & 0xff) / 255.0, v2 = ((h >> 8) & 0xff) / 255.0,
	       v3 = ((h >> 16) & 0xff) / 255.0;
	const char *p = s->palette;
	int r, g, b;

	if (s->diff) {
		double d = (double)n->count - n->base;
		int fade = s->maxdelta > 0 ? (int)lround(210 * (1 - fabs(d) / s->maxdelta)) : 210;

		if (d > 0.5)
			r = 255, g = b = fade;
		else if (d < -0.5)
			b = 255, r = g = fade;
		else
			r = g = b = 250;
	} else if (!strcmp(p, "mem")) {
		r = 0, g = 190 + (int)(50 * v2), b = (int)(210 * v1);
	} else if (!strcmp(p, "io")) {
		r = 80 + (int)(60 * v1), g = r, b = 190 + (int)(55 * v2);
	} else if (!strcmp(p, "red")) {
		r = 200 + (int)(55 * v1), g = b = (int)(80 * v1);
	} else if (!strcmp(p, "green")) {
		g = 200 + (int)(55 * v1), r = b = (int)(80 * v1);
	} else if (!strcmp(p, "blue")) {
		b = 205 + (int)(50 * v1), r = g = (int)(80 * v1);
	} else if (!strcmp(p, "aqua")) {
		r = 50 + (int)(60 * v1), g = b = 165 + (int)(55 * v1);
	} else if (!strcmp(p, "yellow")) {
		r = g = 175 + (int)(55 * v1), b = 50 + (int)(20 * v1);
	} else if (!strcmp(p, "purple")) {
		r = b = 190 + (int)(65 * v1), g = 80 + (int)(60 * v1);
	} else if (!strcmp(p, "orange")) {
		r = 190 + (int)(65 * v1), g = 90 + (int)(65 * v1), b = 0;
	} else { /* hot */
		r = 205 + (int)(50 * v3), g = (int)(230 * v1), b = (int)(55 * v2);
	}
	snprintf(buf, len, "rgb(%d,%d,%d)", r, g, b);
}

static void put_escaped(struct svg *s, const char *p, size_t maxlen)
{
	for (size_t i = 0; p[i] && i < maxlen && !s->err; i++) {
		const char *e = p[i] == '&'   ? "&amp;"
				: p[i] == '<' ? "&lt;"
				: p[i] == '>' ? "&gt;"
				: p[i] == '"' ? "&quot;"
					      : NULL;

		if ((e && fputs(e, s->out) < 0) || (!e && fputc(p[i], s->out) == EOF))
			s->err = -EIO;
	}
}

static void put(struct svg *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct svg *s, const char *fmt, ...)
{
	va_list ap;

	if (s->err)
		return;
	va_start(ap, fmt);
	if (vfprintf(s->out, fmt, ap) < 0)
		s->err = -EIO;
	va_end(ap);
}

static void draw(struct svg *s, const struct node *n, int depth)
{
	double x = SVG_XPAD + (double)n->x * s->scale, w = (double)n->count * s->scale;
	double y = s->opt->reverse ? SVG_TOP + depth * SVG_FRAME_H
				   : (double)s->height - SVG_BOTTOM - (depth + 1) * SVG_FRAME_H;
	size_t chars = (size_t)((w - 3) / (SVG_FONT * SVG_FONT_WIDTH));
	char fill[32];

	if (w < SVG_MIN_WIDTH)
		return;
	color(s, n, fill, sizeof(fill));
	put(s, "<g data-x=\"%llu\" data-w=\"%llu\"><title>", (unsigned long long)n->x,
	    (unsigned long long)n->count);
	put_escaped(s, n->name, n->len);
	put(s, " (%llu samples, %.2f%%", (unsigned long long)n->count,
	    100.0 * (double)n->count / (double)s->total);
	if (s->diff)
		put(s, "; %+.2f%%", 100.0 * ((double)n->count - n->base) / (double)s->total);
	put(s,
	    ")</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\" "
	    "rx=\"2\" ry=\"2\"/><text x=\"%.2f\" y=\"%.1f\">",
	    x, y, w, SVG_FRAME_H - 1, fill, x + 3, y + SVG_FRAME_H - 4.5);
	/* The label as the script would cut it: none under 3 characters, ".." when cut. */
	if (chars >= 3 && n->len <= chars) {
		put_escaped(s, n->name, n->len);
	} else if (chars >= 3) {
		put_escaped(s, n->name, chars - 2);
		put(s, "..");
	}
	put(s, "</text></g>\n");
}

static const char svg_style[] = "<style type=\"text/css\">\n"
				"text { font-family: Verdana, sans-serif; font-size: 12px; fill: "
				"rgb(0,0,0); }\n"
				"#title { text-anchor: middle; font-size: 17px; }\n"
				"#subtitle { text-anchor: middle; fill: rgb(80,80,80); }\n"
				"#search, #ignorecase { opacity: 0.1; cursor: pointer; }\n"
				"#search:hover, #search.show, #ignorecase:hover, #ignorecase.show "
				"{ opacity: 1; }\n"
				"#unzoom { cursor: pointer; }\n"
				"#matched { text-anchor: end; }\n"
				"#frames > *:hover { stroke: black; stroke-width: 0.5; cursor: "
				"pointer; }\n"
				".hide { display: none; }\n"
				".parent { opacity: 0.5; }\n"
				"</style>\n";

/* The browser side: tooltips in the details line, zoom on click, regex search with the matched
 * share counted once for nested matches. Plain ES5, no external script. */
static const char svg_script[] =
    "<script type=\"text/ecmascript\"><![CDATA[\n"
    "\"use strict\";\n"
    "var details, searchbtn, unzoombtn, matchedtxt, icbtn, frames, searching = false,\n"
    "    term = null, ignorecase = false;\n"
    "function init(evt) {\n"
    "  details = document.getElementById(\"details\").firstChild;\n"
    "  searchbtn = document.getElementById(\"search\");\n"
    "  icbtn = document.getElementById(\"ignorecase\");\n"
    "  unzoombtn = document.getElementById(\"unzoom\");\n"
    "  matchedtxt = document.getElementById(\"matched\");\n"
    "  frames = document.getElementById(\"frames\");\n"
    "}\n"
    "function group_of(node) {\n"
    "  while (node && node.parentNode) {\n"
    "    if (node.parentNode === frames) return node;\n"
    "    node = node.parentNode;\n"
    "  }\n"
    "  return null;\n"
    "}\n"
    "function text_of(g) { return g.getElementsByTagName(\"title\")[0].firstChild.nodeValue; }\n"
    "function name_of(g) { var t = text_of(g); return t.substring(0, t.lastIndexOf(\" (\")); }\n"
    "function num(g, a) { return parseFloat(g.getAttribute(a)); }\n"
    "function rect_of(g) { return g.getElementsByTagName(\"rect\")[0]; }\n"
    "function label(g) {\n"
    "  var r = rect_of(g), t = g.getElementsByTagName(\"text\")[0], name = name_of(g);\n"
    "  var x = parseFloat(r.getAttribute(\"x\")), w = parseFloat(r.getAttribute(\"width\"));\n"
    "  var chars = Math.floor((w - 3) / (fontsize * fontwidth));\n"
    "  t.setAttribute(\"x\", (x + 3).toFixed(2));\n"
    "  if (chars < 3) t.textContent = \"\";\n"
    "  else if (name.length <= chars) t.textContent = name;\n"
    "  else t.textContent = name.substring(0, chars - 2) + \"..\";\n"
    "}\n"
    "function place(g, x, w) {\n"
    "  var r = rect_of(g);\n"
    "  r.setAttribute(\"x\", x.toFixed(1));\n"
    "  r.setAttribute(\"width\", w.toFixed(1));\n"
    "  label(g);\n"
    "}\n"
    "function zoom(node) {\n"
    "  var nx = num(node, \"data-x\"), nw = num(node, \"data-w\");\n"
    "  var ny = num(rect_of(node), \"y\"), ratio = (width - 2 * xpad) / nw;\n"
    "  var el = frames.children;\n"
    "  unzoombtn.classList.remove(\"hide\");\n"
    "  for (var i = 0; i < el.length; i++) {\n"
    "    var g = el[i], x = num(g, \"data-x\"), w = num(g, \"data-w\"), y = num(rect_of(g), "
    "\"y\");\n"
    "    var above = inverted ? y < ny : y > ny;\n"
    "    g.classList.remove(\"parent\");\n"
    "    g.classList.remove(\"hide\");\n"
    "    if (above && x <= nx && x + w >= nx + nw) {\n"
    "      g.classList.add(\"parent\");\n"
    "      place(g, xpad, width - 2 * xpad);\n"
    "    } else if (!above && x >= nx && x + w <= nx + nw) {\n"
    "      place(g, xpad + (x - nx) * ratio, w * ratio);\n"
    "    } else {\n"
    "      g.classList.add(\"hide\");\n"
    "    }\n"
    "  }\n"
    "  if (searching) search(term);\n"
    "}\n"
    "function unzoom() {\n"
    "  var el = frames.children, scale = (width - 2 * xpad) / total;\n"
    "  unzoombtn.classList.add(\"hide\");\n"
    "  for (var i = 0; i < el.length; i++) {\n"
    "    el[i].classList.remove(\"parent\");\n"
    "    el[i].classList.remove(\"hide\");\n"
    "    place(el[i], xpad + num(el[i], \"data-x\") * scale, num(el[i], \"data-w\") * scale);\n"
    "  }\n"
    "  if (searching) search(term);\n"
    "}\n"
    "function reset_search() {\n"
    "  var el = frames.children;\n"
    "  for (var i = 0; i < el.length; i++) {\n"
    "    var r = rect_of(el[i]);\n"
    "    if (r.hasAttribute(\"data-fill\")) r.setAttribute(\"fill\", "
    "r.getAttribute(\"data-fill\"));\n"
    "  }\n"
    "}\n"
    "function search(t) {\n"
    "  var re = new RegExp(t, ignorecase ? \"i\" : \"\"), el = frames.children, widest = {};\n"
    "  reset_search();\n"
    "  term = t;\n"
    "  searching = true;\n"
    "  for (var i = 0; i < el.length; i++) {\n"
    "    var g = el[i], r = rect_of(g), x, w;\n"
    "    if (!re.test(name_of(g))) continue;\n"
    "    if (!r.hasAttribute(\"data-fill\")) r.setAttribute(\"data-fill\", "
    "r.getAttribute(\"fill\"));\n"
    "    r.setAttribute(\"fill\", \"rgb(230,0,230)\");\n"
    "    x = num(g, \"data-x\");\n"
    "    w = num(g, \"data-w\");\n"
    "    if (!(x in widest) || w > widest[x]) widest[x] = w;\n"
    "  }\n"
    "  /* A match inside another match is counted once: walk by start, skip what is covered. */\n"
    "  var starts = Object.keys(widest).map(Number).sort(function(a, b) { return a - b; });\n"
    "  var matched = 0, end = -1;\n"
    "  for (var k = 0; k < starts.length; k++) {\n"
    "    if (starts[k] >= end) { matched += widest[starts[k]]; end = starts[k] + "
    "widest[starts[k]]; }\n"
    "  }\n"
    "  searchbtn.classList.add(\"show\");\n"
    "  searchbtn.firstChild.nodeValue = \"Reset Search\";\n"
    "  matchedtxt.classList.remove(\"hide\");\n"
    "  matchedtxt.firstChild.nodeValue = \"Matched: \" + (100 * matched / total).toFixed(1) + "
    "\"%\";\n"
    "  return matched;\n"
    "}\n"
    "function clear_search() {\n"
    "  reset_search();\n"
    "  searching = false;\n"
    "  term = null;\n"
    "  searchbtn.classList.remove(\"show\");\n"
    "  searchbtn.firstChild.nodeValue = \"Search\";\n"
    "  matchedtxt.classList.add(\"hide\");\n"
    "}\n"
    "function search_prompt() {\n"
    "  if (searching) { clear_search(); return; }\n"
    "  var t = prompt(\"Search for (a regular expression\" + (ignorecase ? \", any case\" : \"\") "
    "+\n"
    "                 \"; Ctrl-I toggles case)\", \"\");\n"
    "  if (t) search(t);\n"
    "}\n"
    "function toggle_ignorecase() {\n"
    "  ignorecase = !ignorecase;\n"
    "  if (ignorecase) icbtn.classList.add(\"show\"); else icbtn.classList.remove(\"show\");\n"
    "  if (searching) search(term);\n"
    "}\n"
    "window.addEventListener(\"click\", function(e) {\n"
    "  var g = group_of(e.target);\n"
    "  if (g) { zoom(g); return; }\n"
    "  if (e.target.id === \"unzoom\") unzoom();\n"
    "  else if (e.target.id === \"search\") search_prompt();\n"
    "  else if (e.target.id === \"ignorecase\") toggle_ignorecase();\n"
    "}, false);\n"
    "window.addEventListener(\"mouseover\", function(e) {\n"
    "  var g = group_of(e.target);\n"
    "  if (g) details.nodeValue = \"Function: \" + text_of(g);\n"
    "}, false);\n"
    "window.addEventListener(\"mouseout\", function(e) {\n"
    "  if (group_of(e.target)) details.nodeValue = \" \";\n"
    "}, false);\n"
    "window.addEventListener(\"keydown\", function(e) {\n"
    "  if (e.keyCode === 114 || (e.ctrlKey && e.keyCode === 70)) { e.preventDefault(); "
    "search_prompt(); }\n"
    "  else if (e.ctrlKey && e.keyCode === 73) { e.preventDefault(); toggle_ignorecase(); }\n"
    "}, false);\n"
    "]]></script>\n";

static void header(struct svg *s, const char *title, uint64_t base_total)
{
	unsigned int w = s->width, h = s->height;

	put(s,
	    "<?xml version=\"1.0\" standalone=\"no\"?>\n"
	    "<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" "
	    "\"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n"
	    "<svg version=\"1.1\" width=\"%u\" height=\"%u\" onload=\"init(evt)\" "
	    "viewBox=\"0 0 %u %u\" xmlns=\"http://www.w3.org/2000/svg\" "
	    "xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n"
	    "<!-- Made by ember export. Hover: details; click: zoom; Search or Ctrl-F: "
	    "highlight. -->\n",
	    w, h, w, h);
	put(s,
	    "<defs><linearGradient id=\"background\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">"
	    "<stop stop-color=\"%s\" offset=\"5%%\"/><stop stop-color=\"%s\" offset=\"95%%\"/>"
	    "</linearGradient></defs>\n",
	    s->diff ? "#eeeeee" : "#eeeeee", s->diff ? "#e0e0ff" : "#eeeeb0");
	put(s, "%s", svg_style);
	put(s,
	    "<script type=\"text/ecmascript\"><![CDATA[\nvar width = %u, xpad = %d, total = %llu, "
	    "inverted = %s, fontsize = %d, fontwidth = %.2f;\n]]></script>\n",
	    w, SVG_XPAD, (unsigned long long)s->total, s->opt->reverse ? "true" : "false", SVG_FONT,
	    SVG_FONT_WIDTH);
	put(s, "%s", svg_script);
	put(s, "<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%u\" fill=\"url(#background)\"/>\n", w,
	    h);
	put(s, "<text id=\"title\" x=\"%u\" y=\"%d\">", w / 2, SVG_FONT * 2);
	put_escaped(s, title, SIZE_MAX);
	put(s, "</text>\n");
	if (s->diff)
		put(s,
		    "<text id=\"subtitle\" x=\"%u\" y=\"%d\">%llu samples against %llu in the "
		    "base, "
		    "scaled to the same total; red grew, blue shrank</text>\n",
		    w / 2, SVG_FONT * 3, (unsigned long long)s->total,
		    (unsigned long long)base_total);
	else
		put(s, "<text id=\"subtitle\" x=\"%u\" y=\"%d\">%llu samples</text>\n", w / 2,
		    SVG_FONT * 3, (unsigned long long)s->total);
	put(s, "<text id=\"details\" x=\"%d\" y=\"%u\"> </text>\n", SVG_XPAD, h - SVG_FONT / 2 - 2);
	put(s, "<text id=\"unzoom\" class=\"hide\" x=\"%d\" y=\"%d\">Reset Zoom</text>\n", SVG_XPAD,
	    SVG_FONT * 2);
	put(s, "<text id=\"search\" x=\"%u\" y=\"%d\">Search</text>\n", w - SVG_XPAD - 100,
	    SVG_FONT * 2);
	put(s, "<text id=\"ignorecase\" x=\"%u\" y=\"%d\">ic</text>\n", w - SVG_XPAD - 16,
	    SVG_FONT * 2);
	put(s, "<text id=\"matched\" class=\"hide\" x=\"%u\" y=\"%u\"> </text>\n", w - SVG_XPAD,
	    h - SVG_FONT / 2 - 2);
}

static bool known_palette(const char *p)
{
	for (size_t i = 0; export_svg_palettes[i]; i++)
		if (!strcmp(export_svg_palettes[i], p))
			return true;
	return false;
}

/* Merges the sorted slice and base lines into one sorted list, the base scaled by `k`. */
static struct mline *merge(const struct export_lines *a, const struct export_lines *b, double k,
			   size_t *n, size_t *maxframes)
{
	struct mline *v = calloc(a->n + b->n + 1, sizeof(*v));
	size_t i = 0, j = 0, m = 0;

	if (!v)
		return NULL;
	*maxframes = 1;
	while (i < a->n || j < b->n) {
		int c = i == a->n ? 1 : j == b->n ? -1 : cmp_frames(a->v[i].text, b->v[j].text);
		const char *text = c <= 0 ? a->v[i].text : b->v[j].text;
		size_t frames = 1;

		v[m] = (struct mline){ .text = text };
		if (c <= 0)
			v[m].count = a->v[i++].count;
		if (c >= 0)
			v[m].base = (double)b->v[j++].count * k;
		for (const char *p = text; *p; p++)
			frames += *p == ';';
		if (frames > *maxframes)
			*maxframes = frames;
		m++;
	}
	*n = m;
	return v;
}

static int svg_write(FILE *out, struct export_job *job)
{
	const struct export_options *opt = job->opt;
	struct svg s = { .out = out, .opt = opt, .diff = job->base != NULL };
	struct export_lines lines = { 0 }, base = { 0 };
	struct mline *v = NULL;
	struct node *stack = NULL;
	size_t n = 0, maxframes = 1;
	const char *title;
	int err;

	s.palette = opt->colors ? opt->colors : "hot";
	s.width = opt->width ? opt->width : SVG_DEFAULT_WIDTH;
	if (!known_palette(s.palette) || s.width < 2 * SVG_XPAD + 10)
		return -EINVAL;
	err = export_folded_lines(job, job->filter, 0, s.diff ? 0.5 : 0.9, &lines);
	if (!err && s.diff)
		err = export_folded_lines(job, job->base, 0.5, 0.9, &base);
	if (err)
		goto out;
	job->nsamples = lines.total;
	job->base_nsamples = base.total;
	if (!lines.total || (s.diff && !base.total)) {
		err = -ENODATA;
		goto out;
	}
	qsort(lines.v, lines.n, sizeof(*lines.v), cmp_line_frames);
	if (base.n)
		qsort(base.v, base.n, sizeof(*base.v), cmp_line_frames);
	/* difffolded.pl -n: the base scaled so both have the slice's total. */
	v = merge(&lines, &base, base.total ? (double)lines.total / (double)base.total : 0, &n,
		  &maxframes);
	stack = calloc(maxframes + 2, sizeof(*stack));
	if (!v || !stack) {
		err = -ENOMEM;
		goto out;
	}
	s.total = lines.total;
	s.scale = (double)(s.width - 2 * SVG_XPAD) / (double)s.total;
	scan(&s, v, n, stack, measure);
	s.height = (unsigned int)((s.maxdepth + 1) * SVG_FRAME_H + SVG_TOP + SVG_BOTTOM);
	title = opt->title     ? opt->title
		: s.diff       ? "Differential Flame Graph"
		: opt->reverse ? "Icicle Graph"
			       : "Flame Graph";
	header(&s, title, base.total);
	put(&s, "<g id=\"frames\">\n");
	scan(&s, v, n, stack, draw);
	put(&s, "</g>\n</svg>\n");
	err = s.err;
	if (!err && job->progress)
		job->progress(1, job->progress_ctx);
out:
	free(stack);
	free(v);
	export_lines_free(&lines);
	export_lines_free(&base);
	return err;
}

const struct export_format export_svg_format = {
	.name = "svg",
	.summary = "interactive flame graph; with --diff, differential",
	.diff = true,
	.write = svg_write,
};
