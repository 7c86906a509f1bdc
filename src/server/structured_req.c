/*
 * structured_req.c - the request fields that constrain the output:
 * OpenAI's response_format, tools, tool_choice and parallel_tool_calls,
 * Ollama's format and tools, and the "grammar" extension (raw GBNF) of
 * both.  They all end as one GBNF grammar in tlm_srv_request.gbnf, which
 * every choice's sampler then enforces (gen.c).
 *
 * Fail closed: everything is compiled here, before any model work, and a
 * schema keyword outside the supported subset, a schema or grammar that
 * does not compile, or a tool_choice naming an unknown function is a 400
 * naming it.  A request is never answered with unconstrained text when it
 * asked for a constraint.
 */
#include "server/server.h"

#include "grammar/tools.h"

#include <stdio.h>
#include <string.h>

#define MAX_PARALLEL_CALLS 8

static int oom(tlm_api_error *e) {
    return tlm_api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
}

/* A compile error as a 400: unsupported keywords and bad schemas say so. */
static int compile_error(tlm_api_error *e, const char *param, tlm_status st, const tlm_error *err) {
    if (st == TLM_ERR_NOMEM) return oom(e);
    return TLM_BAD_REQUEST(e, st == TLM_ERR_UNSUPPORTED ? "unsupported_schema" : "invalid_schema",
                           param, "'%s' cannot be enforced: %s", param, err->msg);
}

/* GBNF for a schema (NULL = any JSON object), checked by parsing it. */
static int schema_gbnf(const json_t *schema, const char *param, char **out, tlm_api_error *e) {
    tlm_error err = {0};
    tlm_status st;
    if (!schema) {
        *out = tlm_strdup(tlm_json_object_gbnf());
        return *out ? 0 : oom(e);
    }
    if (!json_is_object(schema) && !json_is_boolean(schema))
        return TLM_BAD_REQUEST(e, "invalid_type", param, "'%s' must be a JSON Schema object",
                               param);
    char *text = json_dumps(schema, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) return oom(e);
    st = tlm_json_schema_to_gbnf(text, strlen(text), out, NULL, &err);
    free(text);
    return st ? compile_error(e, param, st, &err) : 0;
}

/* ---- response_format / format / grammar ---- */

static int openai_format(const json_t *rf, char **out, tlm_api_error *e) {
    if (!json_is_object(rf))
        return TLM_BAD_REQUEST(e, "invalid_type", "response_format",
                               "'response_format' must be an object");
    const char *type = json_string_value(json_object_get(rf, "type"));
    if (!type)
        return TLM_BAD_REQUEST(e, "missing_field", "response_format.type",
                               "'response_format.type' is required");
    if (!strcmp(type, "text")) return 0;
    if (!strcmp(type, "json_object")) return schema_gbnf(NULL, "response_format", out, e);
    if (strcmp(type, "json_schema"))
        return TLM_BAD_REQUEST(e, "invalid_value", "response_format.type",
                               "'response_format.type' is '%s'; expected text, json_object or "
                               "json_schema", type);
    const json_t *js = json_object_get(rf, "json_schema");
    if (!json_is_object(js))
        return TLM_BAD_REQUEST(e, "missing_field", "response_format.json_schema",
                               "'response_format.json_schema' must be an object with a schema");
    const json_t *schema = json_object_get(js, "schema");
    return schema_gbnf(schema && !json_is_null(schema) ? schema : NULL,
                       "response_format.json_schema.schema", out, e);
}

static int ollama_format(const json_t *f, char **out, tlm_api_error *e) {
    if (json_is_string(f)) {
        if (!json_string_length(f)) return 0;
        if (!strcmp(json_string_value(f), "json")) return schema_gbnf(NULL, "format", out, e);
        return TLM_BAD_REQUEST(e, "invalid_value", "format",
                               "'format' must be \"json\" or a JSON Schema object");
    }
    return schema_gbnf(f, "format", out, e);
}

/* The raw GBNF extension, checked by compiling it. */
static int raw_grammar(const json_t *v, char **out, tlm_api_error *e) {
    if (!json_is_string(v))
        return TLM_BAD_REQUEST(e, "invalid_type", "grammar", "'grammar' must be a string (GBNF)");
    tlm_grammar *g = NULL;
    tlm_error err = {0};
    tlm_status st = tlm_grammar_parse(json_string_value(v), json_string_length(v), NULL, &g, &err);
    tlm_grammar_free(g);
    if (st == TLM_ERR_NOMEM) return oom(e);
    if (st)
        return TLM_BAD_REQUEST(e, "invalid_grammar", "grammar", "'grammar' does not compile: %s",
                               err.msg);
    *out = tlm_strndup(json_string_value(v), json_string_length(v));
    return *out ? 0 : oom(e);
}

/* ---- Tools ---- */

static bool valid_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 64) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return false;
    return true;
}

/* tools[] checked and normalised to {type, function: {name, description,
 * parameters}}, as the chat templates expect. */
static int parse_tools(const json_t *v, tlm_srv_request *r, tlm_api_error *e) {
    if (!json_is_array(v)) return TLM_BAD_REQUEST(e, "invalid_type", "tools", "'tools' must be an array");
    if (!(r->tools = json_array())) return oom(e);
    size_t i;
    const json_t *t;
    json_array_foreach(v, i, t) {
        char param[48];
        snprintf(param, sizeof param, "tools[%zu]", i);
        const char *type = json_string_value(json_object_get(t, "type"));
        const json_t *fn = json_object_get(t, "function");
        if (!json_is_object(t) || (type && strcmp(type, "function")) || !json_is_object(fn))
            return TLM_BAD_REQUEST(e, "invalid_value", param,
                                   "'%s' must be {\"type\": \"function\", \"function\": {...}}",
                                   param);
        const char *name = json_string_value(json_object_get(fn, "name"));
        if (!name || !valid_name(name))
            return TLM_BAD_REQUEST(e, "invalid_value", param,
                                   "'%s.function.name' must be 1 to 64 letters, digits, _ - or .",
                                   param);
        for (size_t k = 0; k < i; k++)
            if (!strcmp(name, json_string_value(json_object_get(
                                  json_object_get(json_array_get(r->tools, k), "function"), "name"))))
                return TLM_BAD_REQUEST(e, "invalid_value", param, "tool '%s' is declared twice",
                                       name);
        json_t *norm = json_pack("{s:s,s:{s:s}}", "type", "function", "function", "name", name);
        if (!norm) return oom(e);
        json_t *nf = json_object_get(norm, "function");
        const json_t *desc = json_object_get(fn, "description"), *par = json_object_get(fn, "parameters");
        if (json_is_string(desc)) json_object_set(nf, "description", (json_t *)desc);
        if (par && !json_is_null(par)) json_object_set(nf, "parameters", (json_t *)par);
        json_array_append_new(r->tools, norm);
    }
    return 0;
}

/* tool_choice: "auto", "none", "required" or {"type":"function",
 * "function":{"name":...}}. */
static int parse_choice(const json_t *v, tlm_srv_request *r, tlm_api_error *e) {
    r->tool_mode = TLM_TOOLS_AUTO;
    if (!v || json_is_null(v)) return 0;
    const char *s = json_string_value(v);
    if (s && !strcmp(s, "auto")) return 0;
    if (s && !strcmp(s, "none")) return r->tool_mode = TLM_TOOLS_NONE, 0;
    if (s && !strcmp(s, "required")) return r->tool_mode = TLM_TOOLS_REQUIRED, 0;
    const char *name = json_string_value(json_object_get(json_object_get(v, "function"), "name"));
    if (!s && json_is_object(v) && name) {
        r->tool_mode = TLM_TOOLS_REQUIRED;
        r->tool_name = tlm_strdup(name);
        return r->tool_name ? 0 : oom(e);
    }
    return TLM_BAD_REQUEST(e, "invalid_value", "tool_choice",
                           "'tool_choice' must be \"auto\", \"none\", \"required\" or "
                           "{\"type\": \"function\", \"function\": {\"name\": ...}}");
}

/* The grammar of the answer when tools are offered; text_gbnf (may be
 * NULL) is the grammar of a non-call answer, and is replaced. */
static int tools_gbnf(tlm_srv_request *r, bool parallel, tlm_api_error *e) {
    size_t n = json_array_size(r->tools);
    tlm_tool_spec *spec = tlm_calloc(n, sizeof *spec);
    char **params = tlm_calloc(n, sizeof *params);
    int rc = 0;
    if (!spec || !params) rc = oom(e);
    for (size_t i = 0; !rc && i < n; i++) {
        const json_t *fn = json_object_get(json_array_get(r->tools, i), "function");
        const json_t *p = json_object_get(fn, "parameters");
        spec[i].name = json_string_value(json_object_get(fn, "name"));
        if (p && !(params[i] = json_dumps(p, JSON_COMPACT | JSON_ENCODE_ANY))) rc = oom(e);
        spec[i].params_json = params[i];
    }
    tlm_tool_grammar_opts o = {.tools = spec, .n_tools = (int32_t)n, .only = r->tool_name,
                               .allow_text = r->tool_mode == TLM_TOOLS_AUTO,
                               .text_gbnf = r->gbnf,
                               .max_calls = parallel ? MAX_PARALLEL_CALLS : 1};
    char *gbnf = NULL;
    tlm_error err = {0};
    tlm_status st = rc ? TLM_OK : tlm_tool_call_gbnf(&o, &gbnf, &err);
    if (st == TLM_ERR_INVALID_ARG)
        rc = TLM_BAD_REQUEST(e, "invalid_value", "tool_choice", "%s", err.msg);
    else if (st)
        rc = compile_error(e, "tools", st, &err);
    if (!rc) {
        tlm_free(r->gbnf);
        r->gbnf = gbnf;
    }
    for (size_t i = 0; params && i < n; i++) free(params[i]);
    tlm_free(params);
    tlm_free(spec);
    return rc;
}

static int tools_fields(const json_t *root, tlm_srv_request *r, tlm_api_error *e) {
    const json_t *tools = json_object_get(root, "tools");
    if (!tools || json_is_null(tools) || (json_is_array(tools) && !json_array_size(tools)))
        return 0;
    if (parse_tools(tools, r, e)) return -1;
    /* Ollama has no tool_choice; this server takes OpenAI's as an
     * extension there too. */
    bool parallel = true;
    if (parse_choice(json_object_get(root, "tool_choice"), r, e) ||
        tlm_field_bool(root, "parallel_tool_calls", "parallel_tool_calls", &parallel, e) < 0)
        return -1;
    if (r->tool_mode == TLM_TOOLS_NONE) { /* never offered, so never called */
        json_decref(r->tools);
        r->tools = NULL;
        return 0;
    }
    if (r->api != TLM_API_CHAT && r->api != TLM_API_OLLAMA_CHAT)
        return TLM_BAD_REQUEST(e, "unsupported_parameter", "tools",
                               "'tools' needs a chat endpoint");
    return tools_gbnf(r, parallel, e);
}

int tlm_request_parse_structured(const json_t *root, tlm_srv_request *r, tlm_api_error *e) {
    bool openai = r->api == TLM_API_CHAT || r->api == TLM_API_COMPLETION;
    const json_t *fmt = json_object_get(root, openai ? "response_format" : "format");
    const json_t *grammar = json_object_get(root, "grammar");
    bool has_fmt = fmt && !json_is_null(fmt), has_grammar = grammar && !json_is_null(grammar);
    if (has_fmt && has_grammar)
        return TLM_BAD_REQUEST(e, "invalid_value", "grammar", "'grammar' and '%s' exclude each other",
                               openai ? "response_format" : "format");
    if (has_grammar && raw_grammar(grammar, &r->gbnf, e)) return -1;
    if (has_fmt && (openai ? openai_format(fmt, &r->gbnf, e) : ollama_format(fmt, &r->gbnf, e)))
        return -1;
    if (tools_fields(root, r, e)) return -1;
    if (!r->gbnf) return 0;
    /* The joined grammar may still be too large once repetitions expand. */
    tlm_grammar *g = NULL;
    tlm_error err = {0};
    tlm_status st = tlm_grammar_parse(r->gbnf, strlen(r->gbnf), NULL, &g, &err);
    tlm_grammar_free(g);
    return st ? compile_error(e, has_grammar ? "grammar" : r->tools ? "tools" : openai ? "response_format" : "format", st, &err) : 0;
}
