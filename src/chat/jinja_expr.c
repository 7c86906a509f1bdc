/*
 * jinja_expr.c - evaluating expressions: names, literals, operators with
 * Python semantics, attribute and item access as jinja2's sandboxed
 * environment does it, slices, calls, filters and tests.
 *
 * Access rules (jinja2 Environment.getattr/getitem): `a.b` tries the
 * Python attribute first (so `d.items` is the dict method) and then the
 * item; `a["b"]` tries the item first and then the attribute.  A miss gives
 * an Undefined that prints as "" but raises as soon as it is used in
 * arithmetic, called, or has an attribute taken, exactly like jinja2's
 * default Undefined.  Integers are 64-bit: where Python would grow a big
 * integer we stop with an "integer overflow" error.
 */
#include "chat/jinja.h"

#include <math.h>
#include <string.h>

#define TRY(x)                                                               \
    do {                                                                     \
        tlm_status s_ = (x);                                                 \
        if (s_ != TLM_OK) return s_;                                         \
    } while (0)

/* Left-deep chains (a|f|f|f..., a+b+c+...) are parsed without recursion
 * but evaluated with it, so the depth is bounded here. */
#define MAX_EVAL_DEPTH 400

static bool not_constant(tlm_jctx *c, const tlm_jnode *n);

static tlm_status type_error(tlm_jctx *c, const char *op, tlm_jv a, tlm_jv b) {
    if (a.kind == TLM_JV_UNDEF) return tlm_jerr_undef(c, a);
    if (b.kind == TLM_JV_UNDEF) return tlm_jerr_undef(c, b);
    return tlm_jerr(c, TLM_ERR_TYPE, "unsupported operand type(s) for %s: '%s' and '%s'", op,
                    tlm_jv_type_name(a), tlm_jv_type_name(b));
}

tlm_status tlm_jstep(tlm_jctx *c) {
    if (c->lim && c->lim->max_steps && ++c->steps > c->lim->max_steps)
        return tlm_jerr(c, TLM_ERR_RANGE,
                        "template exceeded %llu evaluation steps (endless loop?)",
                        (unsigned long long)c->lim->max_steps);
    return TLM_OK;
}

tlm_status tlm_jcharge(tlm_jctx *c, size_t n) {
    if (n < 1024 || !c->lim || !c->lim->max_steps) return TLM_OK;
    c->steps += n / 1024;
    return tlm_jstep(c);
}

/* ---- Arithmetic ---- */

static bool is_num(tlm_jv v) {
    return v.kind == TLM_JV_INT || v.kind == TLM_JV_BOOL || v.kind == TLM_JV_FLOAT;
}
static bool is_int(tlm_jv v) { return v.kind == TLM_JV_INT || v.kind == TLM_JV_BOOL; }
static int64_t ival(tlm_jv v) { return v.kind == TLM_JV_BOOL ? v.u.b : v.u.i; }
static double fval(tlm_jv v) { return v.kind == TLM_JV_FLOAT ? v.u.f : (double)ival(v); }

static tlm_status overflow(tlm_jctx *c) {
    return tlm_jerr(c, TLM_ERR_RANGE, "integer overflow (Python would use a big integer)");
}

/* CPython's float floor division and modulo (floatobject.c). */
static void float_divmod(double vx, double wx, double *floordiv, double *mod) {
    double m = fmod(vx, wx);
    double div = (vx - m) / wx;
    if (m != 0) {
        if ((wx < 0) != (m < 0)) {
            m += wx;
            div -= 1.0;
        }
    } else {
        m = copysign(0.0, wx);
    }
    double fd;
    if (div != 0) {
        fd = floor(div);
        if (div - fd > 0.5) fd += 1.0;
    } else {
        fd = copysign(0.0, vx / wx);
    }
    *floordiv = fd;
    *mod = m;
}

static tlm_status int_pow(tlm_jctx *c, int64_t base, int64_t exp, tlm_jv *out) {
    int64_t r = 1;
    while (exp > 0) {
        if ((exp & 1) && __builtin_mul_overflow(r, base, &r)) return overflow(c);
        exp >>= 1;
        if (exp && __builtin_mul_overflow(base, base, &base)) return overflow(c);
    }
    *out = tlm_jv_int(r);
    return TLM_OK;
}

static tlm_status arith(tlm_jctx *c, tlm_jop op, tlm_jv a, tlm_jv b, tlm_jv *out) {
    if (is_int(a) && is_int(b)) {
        int64_t x = ival(a), y = ival(b), r;
        switch (op) {
        case OP_ADD: if (__builtin_add_overflow(x, y, &r)) return overflow(c); break;
        case OP_SUB: if (__builtin_sub_overflow(x, y, &r)) return overflow(c); break;
        case OP_MUL: if (__builtin_mul_overflow(x, y, &r)) return overflow(c); break;
        case OP_FLOORDIV:
        case OP_MOD:
            if (y == 0) return tlm_jerr(c, TLM_ERR_RANGE, "integer division or modulo by zero");
            if (x == INT64_MIN && y == -1) return op == OP_MOD ? (*out = tlm_jv_int(0), TLM_OK)
                                                               : overflow(c);
            r = op == OP_FLOORDIV ? x / y : x % y;
            if ((x % y != 0) && ((x < 0) != (y < 0))) r = op == OP_FLOORDIV ? r - 1 : r + y;
            break;
        case OP_POW:
            if (y >= 0) return int_pow(c, x, y, out);
            if (x == 0) return tlm_jerr(c, TLM_ERR_RANGE, "0.0 cannot be raised to a negative power");
            *out = tlm_jv_float(pow((double)x, (double)y));
            return TLM_OK;
        default: /* OP_DIV */
            if (y == 0) return tlm_jerr(c, TLM_ERR_RANGE, "division by zero");
            *out = tlm_jv_float((double)x / (double)y);
            return TLM_OK;
        }
        *out = tlm_jv_int(r);
        return TLM_OK;
    }
    double x = fval(a), y = fval(b), fd, m;
    switch (op) {
    case OP_ADD: *out = tlm_jv_float(x + y); return TLM_OK;
    case OP_SUB: *out = tlm_jv_float(x - y); return TLM_OK;
    case OP_MUL: *out = tlm_jv_float(x * y); return TLM_OK;
    case OP_DIV:
        if (y == 0) return tlm_jerr(c, TLM_ERR_RANGE, "float division by zero");
        *out = tlm_jv_float(x / y);
        return TLM_OK;
    case OP_FLOORDIV:
    case OP_MOD:
        if (y == 0) return tlm_jerr(c, TLM_ERR_RANGE, "float floor division or modulo by zero");
        float_divmod(x, y, &fd, &m);
        *out = tlm_jv_float(op == OP_MOD ? m : fd);
        return TLM_OK;
    default: /* OP_POW */
        if (x == 0 && y < 0) return tlm_jerr(c, TLM_ERR_RANGE, "0.0 cannot be raised to a negative power");
        if (x < 0 && y != floor(y)) return tlm_jerr(c, TLM_ERR_UNSUPPORTED, "complex numbers are not supported");
        *out = tlm_jv_float(pow(x, y));
        if (isinf(out->u.f) && isfinite(x) && isfinite(y))
            return tlm_jerr(c, TLM_ERR_RANGE, "(34, 'Numerical result out of range')");
        return TLM_OK;
    }
}

static tlm_status concat_seq(tlm_jctx *c, tlm_jv a, tlm_jv b, tlm_jv *out) {
    const tlm_jlist *x = a.u.list, *y = b.u.list;
    TRY(a.kind == TLM_JV_TUPLE ? tlm_jv_tuple(c, x->n + y->n, out) : tlm_jv_list(c, x->n + y->n, out));
    if (x->n) memcpy(out->u.list->items, x->items, x->n * sizeof(tlm_jv));
    if (y->n) memcpy(out->u.list->items + x->n, y->items, y->n * sizeof(tlm_jv));
    return TLM_OK;
}

static tlm_status repeat(tlm_jctx *c, tlm_jv seq, int64_t times, tlm_jv *out) {
    size_t unit = seq.kind == TLM_JV_STR ? seq.u.s.len : seq.u.list->n, n = times > 0 ? (size_t)times : 0;
    size_t limit = c->lim && c->lim->max_output ? c->lim->max_output : (size_t)1 << 30;
    if (unit && n > limit / unit) return tlm_jerr(c, TLM_ERR_RANGE, "repetition result too large");
    if (!unit) n = 0; /* "" * 10**15 is "" at once */
    if (seq.kind == TLM_JV_STR) {
        tlm_buf b = {0};
        for (size_t i = 0; i < n; i++)
            if (tlm_buf_append(&b, seq.u.s.p, unit) != TLM_OK) {
                tlm_buf_free(&b);
                return tlm_jerr(c, TLM_ERR_NOMEM, "out of memory");
            }
        return tlm_jv_strbuf(c, &b, out);
    }
    TRY(seq.kind == TLM_JV_TUPLE ? tlm_jv_tuple(c, unit * n, out) : tlm_jv_list(c, unit * n, out));
    for (size_t i = 0; i < n && unit; i++)
        memcpy(out->u.list->items + i * unit, seq.u.list->items, unit * sizeof(tlm_jv));
    return TLM_OK;
}

static bool plain_seq(tlm_jv v) {
    return (v.kind == TLM_JV_LIST && !v.flags) || v.kind == TLM_JV_TUPLE;
}

tlm_status tlm_jbinop(tlm_jctx *c, tlm_jop op, tlm_jv a, tlm_jv b, tlm_jv *out) {
    if (is_num(a) && is_num(b)) return arith(c, op, a, b, out);
    if (op == OP_ADD) {
        if (a.kind == TLM_JV_STR && b.kind == TLM_JV_STR) {
            tlm_buf s = {0};
            if (tlm_buf_append(&s, a.u.s.p, a.u.s.len) != TLM_OK ||
                tlm_buf_append(&s, b.u.s.p, b.u.s.len) != TLM_OK) {
                tlm_buf_free(&s);
                return tlm_jerr(c, TLM_ERR_NOMEM, "out of memory");
            }
            return tlm_jv_strbuf(c, &s, out);
        }
        if (plain_seq(a) && a.kind == b.kind && plain_seq(b)) return concat_seq(c, a, b, out);
        if (a.kind == TLM_JV_STR && b.kind != TLM_JV_UNDEF)
            return tlm_jerr(c, TLM_ERR_TYPE, "can only concatenate str (not \"%s\") to str",
                            tlm_jv_type_name(b));
    }
    if (op == OP_MUL) {
        if ((a.kind == TLM_JV_STR || plain_seq(a)) && is_int(b)) return repeat(c, a, ival(b), out);
        if ((b.kind == TLM_JV_STR || plain_seq(b)) && is_int(a)) return repeat(c, b, ival(a), out);
    }
    if (op == OP_MOD && a.kind == TLM_JV_STR) /* str.__mod__ runs first, even for Undefined */
        return tlm_jformat_percent(c, a, b, out);
    return type_error(c, tlm_jop_text(op), a, b);
}

/* ---- Containment ---- */

tlm_status tlm_jcontains(tlm_jctx *c, tlm_jv container, tlm_jv item, bool *out) {
    *out = false;
    switch ((tlm_jv_kind)container.kind) {
    case TLM_JV_STR:
        TRY(tlm_jcharge(c, container.u.s.len));
        if (item.kind != TLM_JV_STR) {
            if (item.kind == TLM_JV_UNDEF) return tlm_jerr_undef(c, item);
            return tlm_jerr(c, TLM_ERR_TYPE, "'in <string>' requires string as left operand, not %s",
                            tlm_jv_type_name(item));
        }
        *out = tlm_ustr_find(container.u.s.p, container.u.s.len, item.u.s.p, item.u.s.len, 0) !=
               SIZE_MAX;
        return TLM_OK;
    case TLM_JV_DICT:
        if (!tlm_jv_hashable(item))
            return tlm_jerr(c, TLM_ERR_TYPE, "unhashable type: '%s'", tlm_jv_type_name(item));
        TRY(tlm_jcharge(c, container.u.dict->n * 16));
        *out = tlm_jv_dict_get(container.u.dict, item) != NULL;
        return TLM_OK;
    case TLM_JV_UNDEF: return TLM_OK;
    case TLM_JV_LIST:
    case TLM_JV_TUPLE:
        TRY(tlm_jcharge(c, container.u.list->n * 16));
        for (size_t i = 0; i < container.u.list->n && !*out; i++)
            *out = tlm_jv_equal(container.u.list->items[i], item);
        return TLM_OK;
    case TLM_JV_ITER: {
        tlm_jiter *it = container.u.iter; /* consumes up to the match, as Python does */
        TRY(tlm_jcharge(c, (it->n - it->pos) * 16));
        while (it->pos < it->n && !*out) *out = tlm_jv_equal(it->items[it->pos++], item);
        return TLM_OK;
    }
    default:
        return tlm_jerr(c, TLM_ERR_TYPE, "argument of type '%s' is not iterable",
                        tlm_jv_type_name(container));
    }
}

/* ---- Attribute and item access ---- */

static tlm_status no_attr(tlm_jctx *c, tlm_jv obj, const char *name, tlm_jv *out) {
    if (obj.kind == TLM_JV_NONE) return tlm_jv_undef_fmt(c, out, "'None' has no attribute '%.100s'", name);
    return tlm_jv_undef_fmt(c, out, "'%s object' has no attribute '%.100s'", tlm_jv_type_name(obj),
                            name);
}

static tlm_status loop_attr(tlm_jctx *c, tlm_jv obj, const char *name, tlm_jv *out) {
    const tlm_jloop *l = obj.u.loop;
    int64_t i = (int64_t)l->index0, n = (int64_t)l->n;
    if (!strcmp(name, "index")) *out = tlm_jv_int(i + 1);
    else if (!strcmp(name, "index0")) *out = tlm_jv_int(i);
    else if (!strcmp(name, "revindex")) *out = tlm_jv_int(n - i);
    else if (!strcmp(name, "revindex0")) *out = tlm_jv_int(n - i - 1);
    else if (!strcmp(name, "first")) *out = tlm_jv_bool(i == 0);
    else if (!strcmp(name, "last")) *out = tlm_jv_bool(i == n - 1);
    else if (!strcmp(name, "length")) *out = tlm_jv_int(n);
    else if (!strcmp(name, "depth")) *out = tlm_jv_int(l->depth0 + 1);
    else if (!strcmp(name, "depth0")) *out = tlm_jv_int(l->depth0);
    else if (!strcmp(name, "previtem"))
        *out = i > 0 ? l->items[i - 1] : tlm_jv_undef("there is no previous item");
    else if (!strcmp(name, "nextitem"))
        *out = i + 1 < n ? l->items[i + 1] : tlm_jv_undef("there is no next item");
    else return tlm_jmethod_find(c, obj, name, out);
    return TLM_OK;
}

tlm_status tlm_jgetattr(tlm_jctx *c, tlm_jv obj, const char *name, tlm_jv *out) {
    size_t n = strlen(name);
    if (n > 4 && !strncmp(name, "__", 2) && !strcmp(name + n - 2, "__"))
        /* Python objects (Undefined too) have dunder attributes, and the
         * sandbox hides every one of them. */
        return tlm_jv_undef_fmt(c, out, "access to attribute '%.60s' of '%s' object is unsafe.", name,
                                tlm_jv_type_name(obj));
    if (obj.kind == TLM_JV_UNDEF) return tlm_jerr_undef(c, obj);
    if (obj.kind == TLM_JV_LOOP) {
        TRY(loop_attr(c, obj, name, out));
        return out->kind == TLM_JV_UNDEF && !out->u.undef ? no_attr(c, obj, name, out) : TLM_OK;
    }
    if (obj.kind == TLM_JV_NS) {
        const tlm_jv *v = tlm_jv_dict_getz(obj.u.dict, name);
        if (v) {
            *out = *v;
            return TLM_OK;
        }
        return no_attr(c, obj, name, out);
    }
    TRY(tlm_jmethod_find(c, obj, name, out));
    if (out->kind != TLM_JV_UNDEF || out->u.undef) return TLM_OK;
    if (obj.kind == TLM_JV_DICT) {
        TRY(tlm_jcharge(c, obj.u.dict->n * 16));
        const tlm_jv *v = tlm_jv_dict_getz(obj.u.dict, name);
        if (v) {
            *out = *v;
            return TLM_OK;
        }
    }
    return no_attr(c, obj, name, out);
}

static tlm_status index_seq(tlm_jctx *c, tlm_jv obj, int64_t i, tlm_jv *out) {
    size_t n;
    if (obj.kind == TLM_JV_STR) TRY(tlm_jcharge(c, obj.u.s.len));
    TRY(tlm_jv_len(c, obj, &n));
    if (i < 0) i += (int64_t)n;
    if (i < 0 || (uint64_t)i >= n)
        return tlm_jv_undef_fmt(c, out, "%s object has no element %lld", tlm_jv_type_name(obj),
                                (long long)(i < 0 ? i - (int64_t)n : i));
    if (obj.kind != TLM_JV_STR) {
        *out = obj.u.list->items[i];
        return TLM_OK;
    }
    size_t at = tlm_ustr_offset(obj.u.s.p, obj.u.s.len, (size_t)i), end = at;
    tlm_ustr_next(obj.u.s.p, obj.u.s.len, &end);
    *out = tlm_jv_strref(obj.u.s.p + at, end - at);
    return TLM_OK;
}

tlm_status tlm_jgetitem(tlm_jctx *c, tlm_jv obj, tlm_jv key, tlm_jv *out) {
    if (obj.kind == TLM_JV_UNDEF) return tlm_jerr_undef(c, obj);
    if (obj.kind == TLM_JV_DICT && tlm_jv_hashable(key)) {
        TRY(tlm_jcharge(c, obj.u.dict->n * 16));
        const tlm_jv *v = tlm_jv_dict_get(obj.u.dict, key);
        if (v) {
            *out = *v;
            return TLM_OK;
        }
    } else if ((obj.kind == TLM_JV_STR || plain_seq(obj)) && is_int(key)) {
        return index_seq(c, obj, ival(key), out);
    }
    if (key.kind == TLM_JV_STR) {
        /* The attribute fallback: names are NUL-terminated copies. */
        char *name = tlm_jarena_strndup(c->arena, key.u.s.p, key.u.s.len);
        if (!name) return tlm_jerr(c, TLM_ERR_NOMEM, "out of memory");
        if (strlen(name) == key.u.s.len) return tlm_jgetattr(c, obj, name, out);
    }
    tlm_buf b = {0};
    tlm_status st = tlm_jv_write_repr(c, &b, key);
    if (st == TLM_OK)
        st = tlm_jv_undef_fmt(c, out, "%s object has no element %.100s", tlm_jv_type_name(obj),
                              b.data ? b.data : "");
    tlm_buf_free(&b);
    return st;
}

/* Python's slice index adjustment (PySlice_AdjustIndices). */
static size_t slice_indices(int64_t len, const tlm_jv *bounds[3], int64_t *start, int64_t *step) {
    int64_t st = bounds[2] ? ival(*bounds[2]) : 1, a, z;
    bool neg = st < 0;
    a = bounds[0] ? ival(*bounds[0]) : (neg ? len - 1 : 0);
    z = bounds[1] ? ival(*bounds[1]) : (neg ? -1 : len);
    if (bounds[0]) {
        if (a < 0) a = a + len < 0 ? (neg ? -1 : 0) : a + len;
        else if (a >= len) a = neg ? len - 1 : len;
    }
    if (bounds[1]) {
        if (z < 0) z = z + len < 0 ? (neg ? -1 : 0) : z + len;
        else if (z >= len) z = neg ? len - 1 : len;
    }
    *start = a;
    *step = st;
    if (!neg) return a < z ? (size_t)((z - a - 1) / st + 1) : 0;
    return z < a ? (size_t)((a - z - 1) / (-st) + 1) : 0;
}

/* jinja2 compiles a[x:y] to a plain Python subscript, not to the
 * environment's getitem, so every failure here raises. */
static tlm_status do_slice(tlm_jctx *c, tlm_jv obj, const tlm_jv parts[3], const bool has[3],
                           tlm_jv *out) {
    if (obj.kind == TLM_JV_UNDEF) return tlm_jerr_undef(c, obj);
    if (obj.kind == TLM_JV_DICT) return tlm_jerr(c, TLM_ERR_TYPE, "unhashable type: 'slice'");
    if (obj.kind != TLM_JV_STR && !plain_seq(obj))
        return tlm_jerr(c, TLM_ERR_TYPE, "'%s' object is not subscriptable", tlm_jv_type_name(obj));
    const tlm_jv *bounds[3];
    for (int i = 0; i < 3; i++) {
        bounds[i] = has[i] && parts[i].kind != TLM_JV_NONE ? &parts[i] : NULL;
        if (bounds[i] && bounds[i]->kind == TLM_JV_UNDEF) return tlm_jerr_undef(c, *bounds[i]);
        if (bounds[i] && !is_int(*bounds[i]))
            return tlm_jerr(c, TLM_ERR_TYPE,
                            "slice indices must be integers or None or have an __index__ method");
    }
    if (bounds[2] && ival(*bounds[2]) == 0) return tlm_jerr(c, TLM_ERR_INVALID_ARG, "slice step cannot be zero");
    const tlm_jv *items = obj.kind == TLM_JV_STR ? NULL : obj.u.list->items;
    size_t n = obj.kind == TLM_JV_STR ? 0 : obj.u.list->n;
    if (obj.kind == TLM_JV_STR) TRY(tlm_jv_iterate(c, obj, &items, &n));
    int64_t start, step;
    size_t count = slice_indices((int64_t)n, bounds, &start, &step);
    if (obj.kind == TLM_JV_STR) {
        tlm_buf b = {0};
        for (size_t i = 0; i < count; i++) {
            const tlm_jv *ch = &items[start + (int64_t)i * step];
            if (tlm_buf_append(&b, ch->u.s.p, ch->u.s.len) != TLM_OK) {
                tlm_buf_free(&b);
                return tlm_jerr(c, TLM_ERR_NOMEM, "out of memory");
            }
        }
        return tlm_jv_strbuf(c, &b, out);
    }
    TRY(obj.kind == TLM_JV_TUPLE ? tlm_jv_tuple(c, count, out) : tlm_jv_list(c, count, out));
    for (size_t i = 0; i < count; i++) out->u.list->items[i] = items[start + (int64_t)i * step];
    return TLM_OK;
}

/* ---- Calls ---- */

typedef struct argbuild {
    tlm_jv pos[24];
    const char *kw_names[24];
    tlm_jv kw[24];
    tlm_jargs a;
} argbuild;

static tlm_status push_pos(tlm_jctx *c, argbuild *b, tlm_jv v) {
    if (b->a.n_pos == TLM_ARRAY_LEN(b->pos)) return tlm_jerr(c, TLM_ERR_RANGE, "too many arguments");
    b->pos[b->a.n_pos++] = v;
    return TLM_OK;
}

static tlm_status push_kw(tlm_jctx *c, argbuild *b, const char *name, tlm_jv v) {
    for (size_t i = 0; i < b->a.n_kw; i++)
        if (!strcmp(b->kw_names[i], name))
            return tlm_jerr(c, TLM_ERR_TYPE, "got multiple values for keyword argument '%s'", name);
    if (b->a.n_kw == TLM_ARRAY_LEN(b->kw)) return tlm_jerr(c, TLM_ERR_RANGE, "too many arguments");
    b->kw_names[b->a.n_kw] = name;
    b->kw[b->a.n_kw++] = v;
    return TLM_OK;
}

static tlm_status dyn_kwargs(tlm_jctx *c, argbuild *b, tlm_jv d) {
    if (d.kind != TLM_JV_DICT) return tlm_jerr(c, TLM_ERR_TYPE, "argument after ** must be a mapping");
    for (size_t i = 0; i < d.u.dict->n; i++) {
        tlm_jv k = d.u.dict->keys[i];
        if (k.kind != TLM_JV_STR) return tlm_jerr(c, TLM_ERR_TYPE, "keywords must be strings");
        char *name = tlm_jarena_strndup(c->arena, k.u.s.p, k.u.s.len);
        if (!name) return tlm_jerr(c, TLM_ERR_NOMEM, "out of memory");
        TRY(push_kw(c, b, name, d.u.dict->vals[i]));
    }
    return TLM_OK;
}

static tlm_status eval_args(tlm_jctx *c, tlm_jframe *f, const tlm_jcall *call, argbuild *b) {
    memset(&b->a, 0, sizeof b->a);
    b->a.pos = b->pos;
    b->a.kw = b->kw;
    b->a.kw_names = b->kw_names;
    if (!call) return TLM_OK;
    tlm_jv v;
    for (size_t i = 0; i < call->n_args; i++) {
        TRY(tlm_jeval(c, f, call->args[i], &v));
        TRY(push_pos(c, b, v));
    }
    if (call->dyn_args) {
        const tlm_jv *items;
        size_t n;
        TRY(tlm_jeval(c, f, call->dyn_args, &v));
        TRY(tlm_jv_iterate(c, v, &items, &n));
        for (size_t i = 0; i < n; i++) TRY(push_pos(c, b, items[i]));
    }
    for (size_t i = 0; i < call->n_kw; i++) {
        TRY(tlm_jeval(c, f, call->kw_vals[i], &v));
        TRY(push_kw(c, b, call->kw_names[i], v));
    }
    if (call->dyn_kwargs) {
        TRY(tlm_jeval(c, f, call->dyn_kwargs, &v));
        TRY(dyn_kwargs(c, b, v));
    }
    return TLM_OK;
}

tlm_status tlm_jcall_value(tlm_jctx *c, tlm_jv fn, const tlm_jargs *a, tlm_jv *out) {
    if (fn.kind == TLM_JV_UNDEF) return tlm_jerr_undef(c, fn);
    if (fn.kind != TLM_JV_FUNC)
        return tlm_jerr(c, TLM_ERR_TYPE, "'%s' object is not callable", tlm_jv_type_name(fn));
    if (fn.u.fn->macro) return tlm_jcall_macro(c, fn.u.fn, a, out);
    return fn.u.fn->fn(c, fn.u.fn->self, a, out);
}

static tlm_status eval_call(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *n, tlm_jv *out) {
    tlm_jv fn;
    argbuild b;
    TRY(tlm_jeval(c, f, n->a, &fn));
    TRY(eval_args(c, f, n->call, &b));
    c->line = n->line;
    return tlm_jcall_value(c, fn, &b.a, out);
}

/* Evaluates a filter node; input (when not NULL) feeds the innermost
 * filter of a {% filter %} or {% set x | f %} block. */
tlm_status tlm_jeval_filter(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *n, const tlm_jv *input,
                            tlm_jv *out) {
    tlm_jv v;
    argbuild b;
    if (c->eval_depth > MAX_EVAL_DEPTH) return tlm_jerr(c, TLM_ERR_RANGE, "expression nested too deeply");
    if (not_constant(c, n)) return TLM_ERR_CANCELLED;
    c->eval_depth++;
    tlm_status st;
    if (n->a && n->a->type == J_FILTER) st = tlm_jeval_filter(c, f, n->a, input, &v);
    else if (n->a) st = tlm_jeval(c, f, n->a, &v);
    else v = input ? *input : tlm_jv_undef("no filter input"), st = TLM_OK;
    c->eval_depth--;
    TRY(st);
    TRY(eval_args(c, f, n->call, &b));
    c->line = n->line;
    if (!n->filter_fn)
        return tlm_jerr(c, TLM_ERR_UNSUPPORTED,
                        tlm_jfilter_known(n->name) ? "filter '%s' is not supported"
                                                   : "No filter named '%s'.",
                        n->name);
    return n->filter_fn(c, v, &b.a, out);
}

static tlm_status eval_test(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *n, tlm_jv *out) {
    tlm_jv v;
    argbuild b;
    bool r;
    TRY(tlm_jeval(c, f, n->a, &v));
    TRY(eval_args(c, f, n->call, &b));
    c->line = n->line;
    if (!n->test_fn)
        return tlm_jerr(c, TLM_ERR_UNSUPPORTED,
                        tlm_jtest_known(n->name) ? "test '%s' is not supported"
                                                 : "No test named '%s'.",
                        n->name);
    TRY(n->test_fn(c, v, &b.a, &r));
    *out = tlm_jv_bool(r);
    return TLM_OK;
}

/* ---- Expression nodes ---- */

static tlm_status eval_seq(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *n, tlm_jv *out) {
    TRY(n->type == J_TUPLE ? tlm_jv_tuple(c, n->n_kids, out) : tlm_jv_list(c, n->n_kids, out));
    for (size_t i = 0; i < n->n_kids; i++) TRY(tlm_jeval(c, f, n->kids[i], &out->u.list->items[i]));
    return TLM_OK;
}

static tlm_status eval_dict(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *n, tlm_jv *out) {
    TRY(tlm_jv_dict(c, out));
    for (size_t i = 0; i + 1 < n->n_kids; i += 2) {
        tlm_jv k, v;
        TRY(tlm_jeval(c, f, n->kids[i], &k));
        TRY(tlm_jeval(c, f, n->kids[i + 1], &v));
        if (!tlm_jv_hashable(k)) return tlm_jerr(c, TLM_ERR_TYPE, "unhashable type: '%s'", tlm_jv_type_name(k));
        TRY(tlm_jv_dict_set(c, out, k, v));
    }
    return TLM_OK;
}

static tlm_status eval_item(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *n, tlm_jv *out) {
    tlm_jv obj;
    TRY(tlm_jeval(c, f, n->a, &obj));
    if (n->b->type != J_SLICE) {
        tlm_jv key;
        TRY(tlm_jeval(c, f, n->b, &key));
        return tlm_jgetitem(c, obj, key, out);
    }
    tlm_jv parts[3];
    bool has[3] = {n->b->a != NULL, n->b->b != NULL, n->b->c != NULL};
    const tlm_jnode *src[3] = {n->b->a, n->b->b, n->b->c};
    for (int i = 0; i < 3; i++)
        if (has[i]) TRY(tlm_jeval(c, f, src[i], &parts[i]));
    tlm_status st = do_slice(c, obj, parts, has, out);
    if (st == TLM_ERR_TYPE && n->op && c->folding) /* folded by jinja2 via getitem: Undefined */
        return tlm_jv_undef_fmt(c, out, "%s object is not subscriptable", tlm_jv_type_name(obj));
    return st;
}

static tlm_status eval_unary(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *n, tlm_jv *out) {
    tlm_jv v;
    TRY(tlm_jeval(c, f, n->a, &v));
    if (is_int(v)) {
        if (n->type == J_NEG && ival(v) == INT64_MIN) return overflow(c);
        *out = tlm_jv_int(n->type == J_NEG ? -ival(v) : ival(v));
    } else if (v.kind == TLM_JV_FLOAT) {
        *out = tlm_jv_float(n->type == J_NEG ? -v.u.f : v.u.f);
    } else if (v.kind == TLM_JV_UNDEF) {
        return tlm_jerr_undef(c, v);
    } else {
        return tlm_jerr(c, TLM_ERR_TYPE, "bad operand type for unary %c: '%s'",
                        n->type == J_NEG ? '-' : '+', tlm_jv_type_name(v));
    }
    return TLM_OK;
}

static tlm_status eval_concat(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *n, tlm_jv *out) {
    tlm_buf b = {0};
    tlm_status st = TLM_OK;
    for (size_t i = 0; st == TLM_OK && i < n->n_kids; i++) {
        tlm_jv v;
        st = tlm_jeval(c, f, n->kids[i], &v);
        if (st == TLM_OK) st = tlm_jv_write_str(c, &b, v);
    }
    if (st != TLM_OK) {
        tlm_buf_free(&b);
        return st;
    }
    return tlm_jv_strbuf(c, &b, out);
}

static size_t container_size(tlm_jv v) {
    if (v.kind == TLM_JV_LIST || v.kind == TLM_JV_TUPLE) return v.u.list->n;
    if (v.kind == TLM_JV_DICT) return v.u.dict->n;
    return 0;
}

static tlm_status compare_op(tlm_jctx *c, tlm_jop op, tlm_jv a, tlm_jv b, bool *r) {
    int cmp;
    TRY(tlm_jcharge(c, (container_size(a) + container_size(b)) * 16));
    switch (op) {
    case OP_EQ: *r = tlm_jv_equal(a, b); return TLM_OK;
    case OP_NE: *r = !tlm_jv_equal(a, b); return TLM_OK;
    case OP_IN: return tlm_jcontains(c, b, a, r);
    case OP_NOTIN: TRY(tlm_jcontains(c, b, a, r)); *r = !*r; return TLM_OK;
    default: break;
    }
    TRY(tlm_jv_compare(c, a, b, &cmp));
    if (cmp == 2) *r = false; /* NaN */
    else if (op == OP_LT) *r = cmp < 0;
    else if (op == OP_LE) *r = cmp <= 0;
    else if (op == OP_GT) *r = cmp > 0;
    else *r = cmp >= 0;
    return TLM_OK;
}

static tlm_status eval_compare(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *n, tlm_jv *out) {
    tlm_jv left, right;
    bool r = true;
    TRY(tlm_jeval(c, f, n->a, &left));
    for (size_t i = 0; i < n->n_kids && r; i++) {
        TRY(tlm_jeval(c, f, n->kids[i], &right));
        c->line = n->line;
        TRY(compare_op(c, (tlm_jop)n->ops[i], left, right, &r));
        left = right;
    }
    *out = tlm_jv_bool(r);
    return TLM_OK;
}

static tlm_status eval_binop(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *n, tlm_jv *out) {
    tlm_jv a, b;
    TRY(tlm_jeval(c, f, n->a, &a));
    if (n->op == OP_AND || n->op == OP_OR) {
        /* Python's and/or yield an operand, not a bool. */
        if (tlm_jv_truthy(a) == (n->op == OP_OR)) {
            *out = a;
            return TLM_OK;
        }
        return tlm_jeval(c, f, n->b, out);
    }
    TRY(tlm_jeval(c, f, n->b, &b));
    c->line = n->line;
    return tlm_jbinop(c, (tlm_jop)n->op, a, b, out);
}

static tlm_status eval_node(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *n, tlm_jv *out);

/* jinja2's has_safe_repr: the values its optimizer keeps. */
static bool foldable_value(tlm_jv v, int depth) {
    if (depth > 100) return false;
    switch ((tlm_jv_kind)v.kind) {
    case TLM_JV_NONE: case TLM_JV_BOOL: case TLM_JV_INT: case TLM_JV_FLOAT: case TLM_JV_STR: return true;
    case TLM_JV_LIST:
    case TLM_JV_TUPLE:
        if (v.flags) return false;
        for (size_t i = 0; i < v.u.list->n; i++)
            if (!foldable_value(v.u.list->items[i], depth + 1)) return false;
        return true;
    case TLM_JV_DICT:
        for (size_t i = 0; i < v.u.dict->n; i++)
            if (!foldable_value(v.u.dict->keys[i], depth + 1) ||
                !foldable_value(v.u.dict->vals[i], depth + 1))
                return false;
        return true;
    default: return false;
    }
}

tlm_status tlm_jeval(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *n, tlm_jv *out) {
    c->line = n->line;
    if (++c->eval_depth > MAX_EVAL_DEPTH) {
        c->eval_depth--;
        return tlm_jerr(c, TLM_ERR_RANGE, "expression nested too deeply");
    }
    tlm_status st;
    if (n->fold && !c->folding) {
        /* Try it the compile-time way; keep the value only when jinja2
         * would have, else evaluate it the runtime way. */
        c->folding = 1;
        st = eval_node(c, f, n, out);
        c->folding = 0;
        if (st != TLM_OK || (n->fold == 1 && !foldable_value(*out, 0))) st = eval_node(c, f, n, out);
    } else {
        st = eval_node(c, f, n, out);
    }
    c->eval_depth--;
    return st;
}

/* What jinja2 cannot evaluate at compile time (names, calls, filters that
 * take the context, an if-expression without else that is false). */
static bool not_constant(tlm_jctx *c, const tlm_jnode *n) {
    static const char *const ctx_filters[] = {"map", "select", "reject", "selectattr", "rejectattr", NULL};
    if (!c->folding) return false;
    if (n->type == J_NAME || n->type == J_CALL) return true;
    if (n->type == J_FILTER) {
        if (!n->filter_fn || !n->a) return true;
        for (size_t i = 0; ctx_filters[i]; i++)
            if (!strcmp(n->name, ctx_filters[i])) return true;
    }
    if (n->type == J_TEST && !n->test_fn) return true;
    return n->call && (n->call->dyn_args || n->call->dyn_kwargs);
}

static tlm_status eval_node(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *n, tlm_jv *out) {
    if (not_constant(c, n)) return TLM_ERR_CANCELLED; /* "Impossible" */
    switch ((tlm_jnode_type)n->type) {
    case J_CONST: *out = n->value; return TLM_OK;
    case J_NAME: {
        const tlm_jv *v = tlm_jframe_lookup(f, n->name);
        if (v) {
            *out = *v;
            return TLM_OK;
        }
        return tlm_jv_undef_fmt(c, out, "'%.100s' is undefined", n->name);
    }
    case J_LIST:
    case J_TUPLE: return eval_seq(c, f, n, out);
    case J_DICT: return eval_dict(c, f, n, out);
    case J_ATTR: {
        tlm_jv obj;
        TRY(tlm_jeval(c, f, n->a, &obj));
        c->line = n->line;
        return tlm_jgetattr(c, obj, n->name, out);
    }
    case J_ITEM: return eval_item(c, f, n, out);
    case J_CALL: return eval_call(c, f, n, out);
    case J_FILTER: return tlm_jeval_filter(c, f, n, NULL, out);
    case J_TEST: return eval_test(c, f, n, out);
    case J_NOT: {
        tlm_jv v;
        TRY(tlm_jeval(c, f, n->a, &v));
        *out = tlm_jv_bool(!tlm_jv_truthy(v));
        return TLM_OK;
    }
    case J_NEG:
    case J_POS: return eval_unary(c, f, n, out);
    case J_BIN: return eval_binop(c, f, n, out);
    case J_CONCAT: return eval_concat(c, f, n, out);
    case J_CMP: return eval_compare(c, f, n, out);
    case J_COND: {
        tlm_jv cond;
        TRY(tlm_jeval(c, f, n->a, &cond));
        if (tlm_jv_truthy(cond)) return tlm_jeval(c, f, n->b, out);
        if (n->c) return tlm_jeval(c, f, n->c, out);
        if (c->folding) return TLM_ERR_CANCELLED;
        *out = tlm_jv_undef("the inline if-expression evaluated to false and no else section "
                            "was defined");
        return TLM_OK;
    }
    default: return tlm_jerr(c, TLM_ERR_INTERNAL, "not an expression (node type %d)", n->type);
    }
}
