/*
 * grade_text.c - the rubric grader for free-text answers (explain an
 * algorithm): every required point must appear, each point being a list of
 * acceptable phrasings, and the answer must be written in the prompt's
 * language.  Matching is substring-based and ASCII case-insensitive: crude,
 * but deterministic and explainable, which matters more for a comparison
 * tool than nuance; rubric authors list synonyms in both languages.
 *
 * Language is judged on prose only (fenced and inline code removed): the
 * share of CJK characters among CJK characters plus Latin letters must be
 * at least 30% for "zh" and at most 2% for "en".
 */
#include "eval/grade_impl.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define ZH_MIN_SHARE 0.30
#define EN_MAX_SHARE 0.02

static char *lower_ascii(const char *s) {
    char *d = tlm_strdup(s);
    for (char *p = d; p && *p; p++) *p = (char)tolower((unsigned char)*p);
    return d;
}

/* Decodes one UTF-8 code point; invalid bytes count as one unit. */
static unsigned next_cp(const unsigned char **p) {
    const unsigned char *s = *p;
    unsigned cp = s[0];
    int n = cp < 0x80 ? 0 : cp >= 0xf0 ? 3 : cp >= 0xe0 ? 2 : cp >= 0xc0 ? 1 : 0;
    cp &= n == 3 ? 0x07 : n == 2 ? 0x0f : n == 1 ? 0x1f : 0xff;
    int i = 1;
    for (; i <= n && (s[i] & 0xc0) == 0x80; i++) cp = (cp << 6) | (s[i] & 0x3f);
    *p = s + i;
    return cp;
}

static bool is_cjk(unsigned cp) {
    return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
           (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x20000 && cp <= 0x2a6df);
}

/* Share of CJK among letters, skipping ``` blocks and `inline code`. */
static double cjk_share(const char *text, size_t *letters) {
    size_t cjk = 0, latin = 0;
    bool in_fence = false, in_tick = false;
    const unsigned char *p = (const unsigned char *)text;
    bool line_start = true;
    while (*p) {
        if (line_start && !strncmp((const char *)p, "```", 3)) {
            in_fence = !in_fence;
            p += 3;
            continue;
        }
        line_start = *p == '\n';
        if (!in_fence && *p == '`') {
            in_tick = !in_tick;
            p++;
            continue;
        }
        unsigned cp = next_cp(&p);
        if (in_fence || in_tick) continue;
        if (is_cjk(cp))
            cjk++;
        else if (cp < 0x80 && isalpha((int)cp))
            latin++;
    }
    *letters = cjk + latin;
    return *letters ? (double)cjk / (double)*letters : 0.0;
}

/* A point: a string, or {"any": [...]} (one suffices) / {"all": [...]}. */
static bool point_hit(const json_t *pt, const char *lower) {
    if (json_is_string(pt)) {
        char *w = lower_ascii(json_string_value(pt));
        bool hit = w && strstr(lower, w);
        tlm_free(w);
        return hit;
    }
    const json_t *any = json_object_get(pt, "any"), *all = json_object_get(pt, "all");
    size_t i;
    json_t *v;
    if (json_is_array(all)) {
        json_array_foreach (all, i, v)
            if (!point_hit(v, lower)) return false;
        return json_array_size(all) > 0;
    }
    json_array_foreach (any, i, v)
        if (point_hit(v, lower)) return true;
    return false;
}

static void point_label(const json_t *pt, char *out, size_t cap) {
    const json_t *name = json_object_get(pt, "name");
    const json_t *first = json_is_string(pt) ? pt : json_array_get(json_object_get(pt, "any"), 0);
    if (!first) first = json_array_get(json_object_get(pt, "all"), 0);
    snprintf(out, cap, "%.120s",
             json_is_string(name)    ? json_string_value(name)
             : json_is_string(first) ? json_string_value(first)
                                     : "?");
}

static tlm_status language_check(const tlm_eval_task *t, const char *text, tlm_eval_grade *g,
                                 bool *ok) {
    size_t letters;
    double share = cjk_share(text, &letters);
    *ok = true;
    if (!letters) {
        *ok = false;
        return tlm_eval_grade_set(g, TLM_EVAL_FAIL_FORMAT, "empty answer");
    }
    bool zh = t->language && !strcmp(t->language, "zh");
    if (zh ? share < ZH_MIN_SHARE : share > EN_MAX_SHARE) {
        *ok = false;
        return tlm_eval_grade_set(g, TLM_EVAL_FAIL_FORMAT, "answer not in %s (CJK share %.0f%%)",
                                  zh ? "Chinese" : "English", share * 100);
    }
    return TLM_OK;
}

tlm_status tlm_eval_grade_rubric(const tlm_eval_task *t, const char *text, tlm_eval_grade *g) {
    g->method = "rubric";
    bool lang_ok;
    tlm_status st = language_check(t, text, g, &lang_ok);
    const json_t *points = json_object_get(t->rubric, "points");
    size_t n = json_array_size(points);
    json_t *minp = json_object_get(t->rubric, "min_points");
    size_t need = json_is_integer(minp) ? (size_t)json_integer_value(minp) : n;
    char *lower = lower_ascii(text);
    if (!lower) return TLM_ERR_NOMEM;
    char missing[160] = "";
    size_t i;
    json_t *pt;
    g->fields_total = (int)n;
    json_array_foreach (points, i, pt) {
        if (point_hit(pt, lower))
            g->fields_ok++;
        else if (!missing[0])
            point_label(pt, missing, sizeof missing);
    }
    tlm_free(lower);
    char summary[64];
    snprintf(summary, sizeof summary, "%d/%zu points", g->fields_ok, n);
    g->extracted = tlm_strdup(summary);
    if (st != TLM_OK || !lang_ok) return st;
    if ((size_t)g->fields_ok < need)
        return tlm_eval_grade_set(g, TLM_EVAL_FAIL_WRONG_ANSWER, "%s; missing: %s", summary,
                                  missing);
    return tlm_eval_grade_set(g, TLM_EVAL_PASS, NULL);
}
