/*
 * report_svg.c - inline SVG bar charts for the HTML report, drawn here so
 * the page needs no script, no library and no network: it opens from disk
 * and prints.  One chart = groups of horizontal bars (one group per label,
 * one bar per target) with the value written after each bar, and a legend.
 */
#include "eval/report.h"

#include <math.h>
#include <string.h>

/* Colour-blind-safe palette (Okabe-Ito), one colour per target. */
static const char *const palette[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                      "#56B4E9", "#D55E00", "#F0E442", "#000000"};

#define W 760.0
#define LABEL_W 190.0
#define BAR_W 440.0
#define BAR_H 16.0
#define BAR_GAP 3.0
#define GROUP_GAP 12.0
#define TOP 46.0

static double chart_max(const tlm_svg_chart *c) {
    if (c->max > 0) return c->max;
    double m = 0;
    for (size_t i = 0; i < c->n_labels * c->n_series; i++)
        if (!isnan(c->values[i]) && c->values[i] > m) m = c->values[i];
    return m > 0 ? m : 1;
}

static void legend(tlm_buf *out, const tlm_svg_chart *c) {
    double x = LABEL_W;
    for (size_t s = 0; s < c->n_series; s++) {
        tlm_buf_appendf(out,
                        "<rect x=\"%.0f\" y=\"26\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                        "<text x=\"%.0f\" y=\"36\" class=\"lg\">",
                        x, palette[s % TLM_ARRAY_LEN(palette)], x + 16);
        tlm_report_html_escape(out, c->series[s]);
        tlm_buf_appendf(out, "</text>");
        x += 28 + 7.0 * (double)strlen(c->series[s]);
    }
}

static void group(tlm_buf *out, const tlm_svg_chart *c, size_t l, double y, double max) {
    double gh = (double)c->n_series * (BAR_H + BAR_GAP);
    tlm_buf_appendf(out, "<text x=\"%.0f\" y=\"%.1f\" class=\"lb\" text-anchor=\"end\">",
                    LABEL_W - 8, y + gh / 2 + 4);
    tlm_report_html_escape(out, c->labels[l]);
    tlm_buf_appendf(out, "</text>");
    for (size_t s = 0; s < c->n_series; s++) {
        double v = c->values[l * c->n_series + s];
        double by = y + (double)s * (BAR_H + BAR_GAP);
        char txt[64];
        tlm_report_fmt(txt, sizeof txt, v, c->fmt_kind);
        double w = isnan(v) || v < 0 ? 0 : BAR_W * fmin(v / max, 1.0);
        tlm_buf_appendf(out,
                        "<rect class=\"bar\" x=\"%.0f\" y=\"%.1f\" width=\"%.1f\" height=\"%.0f\" "
                        "fill=\"%s\"><title>",
                        LABEL_W, by, w, BAR_H, palette[s % TLM_ARRAY_LEN(palette)]);
        tlm_report_html_escape(out, c->series[s]);
        tlm_buf_appendf(out, ": %s</title></rect><text x=\"%.1f\" y=\"%.1f\" class=\"v\">%s</text>",
                        txt, LABEL_W + w + 5, by + BAR_H - 4, txt);
    }
}

tlm_status tlm_report_svg_bars(tlm_buf *out, const tlm_svg_chart *c) {
    if (!out || !c || !c->values) return TLM_ERR_INVALID_ARG;
    double max = chart_max(c);
    double gh = (double)c->n_series * (BAR_H + BAR_GAP) + GROUP_GAP;
    double h = TOP + (double)c->n_labels * gh + 8;
    tlm_buf_appendf(out,
                    "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" "
                    "viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\"><title>",
                    W, h, W, h);
    tlm_report_html_escape(out, c->title);
    tlm_buf_appendf(out, "</title><text x=\"0\" y=\"16\" class=\"ct\">");
    tlm_report_html_escape(out, c->title);
    tlm_buf_appendf(out, "</text>");
    legend(out, c);
    tlm_buf_appendf(out, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" class=\"ax\"/>",
                    LABEL_W, TOP - 4, LABEL_W, h - 8);
    for (size_t l = 0; l < c->n_labels; l++) group(out, c, l, TOP + (double)l * gh, max);
    return tlm_buf_appendf(out, "</svg>\n");
}
