/*
 * cmd_run.c - `tinylm run MODEL [PROMPT]`: one streamed answer, or an
 * interactive chat when no prompt is given and stdin is a terminal.
 *
 * stdout carries only the model's text, so the command can be piped; the
 * chat prompt, notes, statistics and errors go to stderr.  Ctrl-C sets a
 * flag that the streaming callback reads: it ends the answer being
 * written, not the program (in a chat).  Chat turns reuse the KV cache of
 * the earlier turns (tlm_gen_params.reuse_prefix), so a long conversation
 * does not re-read its history every turn.
 */
#include "cli/commands.h"
#include "cli/model_arg.h"
#include "core/util.h"
#include "tinylm.h"

#include <errno.h>
#include <stddef.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: tinylm run [OPTIONS] MODEL [PROMPT...]\n\n"
            "Answers PROMPT with MODEL (a GGUF file or a pulled name), streaming the text to\n"
            "stdout, through the model's chat template.  Without PROMPT it reads the prompt\n"
            "from stdin when stdin is piped, and otherwise starts an interactive chat.\n\n"
            "options:\n"
            "  --temp X          temperature (default 0.8; 0 = greedy)\n"
            "  --top-k N         keep the N most likely tokens (default 40; 0 = off)\n"
            "  --top-p X         nucleus sampling (default 0.95; 1 = off)\n"
            "  --min-p X         drop tokens below X times the best (default 0.05; 0 = off)\n"
            "  --repeat-penalty X  penalise the last 64 tokens (default 1 = off)\n"
            "  --seed N          random seed (default: a new one each answer)\n"
            "  -n, --max-tokens N  stop after N tokens (default: until the model ends or\n"
            "                    the context is full)\n"
            "  --stop TEXT       also stop at TEXT (repeatable; never printed)\n"
            "  --raw             plain completion of PROMPT, without the chat template\n"
            "  --system TEXT     system prompt\n"
            "  -t, --threads N   threads (default: all cores)\n"
            "  -c, --ctx N       context length in tokens (default: min(4096, trained))\n"
            "  --verbose         print timings and memory to stderr after each answer\n"
            "  --json-schema FILE  the answer is JSON valid against the JSON Schema in FILE\n"
            "                    (the sampler may only pick tokens that keep it so)\n"
            "  --json            the answer is a JSON object (any)\n"
            "  --grammar FILE    the answer follows the GBNF grammar in FILE (rule root)\n"
            "  --samples N       N answers to the same prompt (seeds seed, seed+1, ...),\n"
            "                    each printed as one line holding a JSON string\n\n"
            "chat commands: /help /clear /system TEXT /set PARAM VALUE /stats /bye\n\n"
            "examples:\n"
            "  tinylm run qwen2.5:0.5b-instruct \"Why is the sky blue?\"\n"
            "  echo \"Summarise: ...\" | tinylm run model.gguf --temp 0 -n 200\n"
            "  tinylm run model.gguf --raw \"Once upon a time\" -n 64 --seed 1\n"
            "  tinylm run model.gguf --json-schema person.json \"Describe a person\"\n"
            "  tinylm run qwen2.5:0.5b-instruct        (interactive chat)\n");
}

/* ---- Options ---- */

#define MAX_STOP 16

typedef struct run_opts {
    tlm_gen_params gen;
    const char *stop[MAX_STOP];
    int seed_set, raw, verbose;
    long n_threads, n_ctx;
    const char *system;
    const char *schema_file, *grammar_file; /* constrained output, or NULL */
    int json_object;
    long samples;                           /* 0 = one answer, printed as text */
} run_opts;

enum { O_TEMP = 256, O_TOPK, O_TOPP, O_MINP, O_SEED, O_RAW, O_SYSTEM, O_VERBOSE, O_STOP, O_REP,
       O_SCHEMA, O_GRAMMAR, O_JSON, O_SAMPLES };

/* Returns 0 to go on, else the exit code. */
static int parse_opts(int argc, char **argv, run_opts *o) {
    static const struct option opts[] = {
        {"temp", required_argument, 0, O_TEMP},   {"top-k", required_argument, 0, O_TOPK},
        {"top-p", required_argument, 0, O_TOPP},  {"min-p", required_argument, 0, O_MINP},
        {"seed", required_argument, 0, O_SEED},   {"raw", no_argument, 0, O_RAW},
        {"system", required_argument, 0, O_SYSTEM}, {"verbose", no_argument, 0, O_VERBOSE},
        {"stop", required_argument, 0, O_STOP},   {"repeat-penalty", required_argument, 0, O_REP},
        {"max-tokens", required_argument, 0, 'n'}, {"threads", required_argument, 0, 't'},
        {"ctx", required_argument, 0, 'c'},       {"help", no_argument, 0, 'h'},
        {"json-schema", required_argument, 0, O_SCHEMA}, {"grammar", required_argument, 0, O_GRAMMAR},
        {"json", no_argument, 0, O_JSON},         {"samples", required_argument, 0, O_SAMPLES},
        {0, 0, 0, 0}};
    tlm_sampler_params *sp = &o->gen.sampling;
    double x;
    long v;
    int c;
    while ((c = getopt_long(argc, argv, "n:t:c:h", opts, NULL)) != -1) {
        switch (c) {
        case O_TEMP: if (!tlm_cli_parse_float("run", "--temp", optarg, 0, 100, &x)) return 2;
            sp->temperature = (float)x; break;
        case O_TOPK: if (!tlm_cli_parse_int("run", "--top-k", optarg, 0, 1L << 30, &v)) return 2;
            sp->top_k = (int32_t)v; break;
        case O_TOPP: if (!tlm_cli_parse_float("run", "--top-p", optarg, 0, 1, &x)) return 2;
            sp->top_p = (float)x; break;
        case O_MINP: if (!tlm_cli_parse_float("run", "--min-p", optarg, 0, 1, &x)) return 2;
            sp->min_p = (float)x; break;
        case O_REP: if (!tlm_cli_parse_float("run", "--repeat-penalty", optarg, 0.01, 100, &x))
                return 2;
            sp->repeat_penalty = (float)x; break;
        case O_SEED: {
            char *end;
            errno = 0;
            sp->seed = strtoull(optarg, &end, 10);
            if (!*optarg || *end || errno) {
                fprintf(stderr, "tinylm run: --seed expects a whole number, got '%s'\n", optarg);
                return 2;
            }
            o->seed_set = 1;
            break;
        }
        case 'n': if (!tlm_cli_parse_int("run", "-n", optarg, -1, 1L << 30, &v)) return 2;
            o->gen.max_tokens = (int32_t)v; break;
        case 't': if (!tlm_cli_parse_int("run", "-t", optarg, 1, 256, &o->n_threads)) return 2;
            break;
        case 'c': if (!tlm_cli_parse_int("run", "-c", optarg, 16, 1L << 24, &o->n_ctx)) return 2;
            break;
        case O_STOP:
            if (o->gen.n_stop == MAX_STOP || !optarg[0]) {
                fprintf(stderr, "tinylm run: at most %d non-empty --stop strings\n", MAX_STOP);
                return 2;
            }
            o->stop[o->gen.n_stop++] = optarg;
            break;
        case O_RAW: o->raw = 1; break;
        case O_SYSTEM: o->system = optarg; break;
        case O_VERBOSE: o->verbose = 1; break;
        case O_SCHEMA: o->schema_file = optarg; break;
        case O_GRAMMAR: o->grammar_file = optarg; break;
        case O_JSON: o->json_object = 1; break;
        case O_SAMPLES: if (!tlm_cli_parse_int("run", "--samples", optarg, 1, 1L << 24, &o->samples))
                return 2;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    o->gen.stop = o->stop;
    if (!!o->schema_file + !!o->grammar_file + o->json_object > 1) {
        fprintf(stderr, "tinylm run: --json-schema, --json and --grammar exclude each other\n");
        return 2;
    }
    return -1;
}

/* ---- A session: the model, its context and the conversation ---- */

typedef struct session {
    tlm_model *model;
    tlm_ctx *ctx;
    run_opts *o;
    tlm_seq_cache cache;  /* what sequence 0 holds */
    json_t *history;      /* user and assistant messages */
    char *system;         /* owned; NULL = none */
    tlm_buf answer;       /* text of the answer being written */
    tlm_gen_stats last;
    tlm_structured *structured; /* the output's grammar, or NULL */
    int have_last;
    uint64_t seed_counter;
} session;

static int on_text(void *user, const char *text, size_t len) {
    session *s = user;
    if (interrupted) return 1;
    if (len) {
        if (!s->o->samples) {
            fwrite(text, 1, len, stdout);
            fflush(stdout);
        }
        tlm_buf_append(&s->answer, text, len);
    }
    return 0;
}

static void print_stats(session *s) {
    const tlm_gen_stats *g = &s->last;
    tlm_mem_stats m;
    tlm_ctx_mem_stats(s->ctx, &m);
    double pp = g->prompt_ms > 0 ? (g->n_prompt - g->n_cached) * 1000.0 / g->prompt_ms : 0;
    double tg = g->gen_ms > 0 ? g->n_eval * 1000.0 / g->gen_ms : 0;
    fprintf(stderr,
            "prompt:     %d tokens (%d from the cache) in %.1f ms, %.1f tokens/s\n"
            "generation: %d tokens in %.1f ms, %.1f tokens/s\n"
            "first token after %.1f ms; seed %llu; context %d/%d tokens\n"
            "memory:     peak %.1f MB resident (weights %.1f MB mapped, %.1f MB of them packed; "
            "KV cache %.1f MB)\n",
            g->n_prompt, g->n_cached, g->prompt_ms, pp, g->n_gen, g->gen_ms, tg,
            g->first_token_ms, (unsigned long long)s->o->gen.sampling.seed, s->cache.n,
            tlm_ctx_n_ctx(s->ctx), m.rss_peak / 1e6, m.weights_mapped / 1e6, m.weights_packed / 1e6,
            m.kv_bytes / 1e6);
}

/* The conversation with text as the next user turn, as the template's
 * messages array (a new reference). */
static json_t *conversation(session *s, const char *text) {
    json_t *msgs = json_array();
    if (s->system)
        json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", "system", "content", s->system));
    json_array_extend(msgs, s->history);
    json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", "user", "content", text));
    return msgs;
}

/* Tokens of the prompt for text: raw, or the rendered conversation. */
static tlm_token *prompt_tokens(session *s, const char *text, int32_t *n, tlm_error *err) {
    if (s->o->raw) return tlm_cli_tokenize(s->model, text, strlen(text), true, false, n, err);
    json_t *msgs = conversation(s, text);
    char *mj = json_dumps(msgs, JSON_COMPACT);
    json_decref(msgs);
    char *rendered = NULL;
    tlm_token *ids = NULL;
    if (!mj) {
        tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (tlm_chat_render(s->model, mj, NULL, 1, &rendered, err) == TLM_OK) {
        ids = tlm_cli_tokenize(s->model, rendered, strlen(rendered), true, true, n, err);
        /* A template that prints bos_token itself must not get a second. */
        tlm_token bos = tlm_model_bos(s->model);
        if (ids && *n >= 2 && bos >= 0 && ids[0] == bos && ids[1] == bos)
            memmove(ids, ids + 1, (size_t)--*n * sizeof *ids);
    }
    free(mj);
    tlm_free(rendered);
    return ids;
}

/* Answers text, streaming to stdout.  In a chat the turn is kept in the
 * history (even when cut short), and the oldest turns are dropped when the
 * conversation outgrows the context.  Returns 0, 1 on error, 130 when
 * interrupted. */
static int answer(session *s, const char *text, bool chat) {
    tlm_error err = {0};
    int32_t n = 0, n_ctx = tlm_ctx_n_ctx(s->ctx);
    tlm_token *ids;
    for (;;) {
        ids = prompt_tokens(s, text, &n, &err);
        if (!ids) {
            fprintf(stderr, "tinylm run: %s\n", err.msg);
            return 1;
        }
        if (n < n_ctx || !chat || json_array_size(s->history) < 2) break;
        tlm_free(ids);
        json_array_remove(s->history, 0);
        json_array_remove(s->history, 0);
        fprintf(stderr, "(the oldest turn was dropped to fit the context)\n");
    }
    if (n >= n_ctx) {
        fprintf(stderr,
                "tinylm run: the prompt has %d tokens and leaves no room in the context of %d; "
                "raise -c or shorten it\n",
                n, n_ctx);
        tlm_free(ids);
        return 1;
    }
    tlm_gen_params gp = s->o->gen;
    if (!s->o->seed_set)
        gp.sampling.seed = (uint64_t)time(NULL) * 1000003u + (uint64_t)getpid() + s->seed_counter++;
    s->o->gen.sampling.seed = gp.sampling.seed; /* for /stats and --verbose */
    gp.cache = &s->cache;
    gp.reuse_prefix = 1;
    s->answer.len = 0;
    tlm_structured_reset(s->structured);
    tlm_status st = tlm_generate(s->ctx, ids, n, &gp, tlm_structured_constraint(s->structured),
                                 on_text, s, &s->last, &err);
    tlm_free(ids);
    s->have_last = st == TLM_OK;
    if (s->answer.len && s->answer.data[s->answer.len - 1] != '\n' && isatty(1)) putchar('\n');
    fflush(stdout);
    if (st != TLM_OK) {
        fprintf(stderr, "tinylm run: %s\n", err.msg);
        return 1;
    }
    if (chat && !s->o->raw) {
        json_array_append_new(s->history, json_pack("{s:s,s:s}", "role", "user", "content", text));
        json_array_append_new(s->history,
                              json_pack("{s:s,s:s%}", "role", "assistant", "content",
                                        s->answer.data ? s->answer.data : "", s->answer.len));
    }
    if (s->o->verbose) print_stats(s);
    return s->last.finish == TLM_FINISH_CANCELLED ? 130 : 0;
}

/* ---- Interactive chat ---- */

static void chat_help(void) {
    fprintf(stderr,
            "  /clear             forget the conversation\n"
            "  /system TEXT       set the system prompt (empty: none)\n"
            "  /set PARAM VALUE   temperature, top_k, top_p, min_p, typical_p,\n"
            "                     repeat_penalty, presence_penalty, frequency_penalty,\n"
            "                     seed, max_tokens\n"
            "  /stats             timings and memory of the last answer\n"
            "  /bye               quit (or Ctrl-D); Ctrl-C stops an answer\n");
}

static void set_param(session *s, const char *line) {
    char name[64];
    int used = 0;
    if (sscanf(line, "%63s %n", name, &used) != 1 || !line[used]) {
        fprintf(stderr, "usage: /set PARAM VALUE (see /help)\n");
        return;
    }
    const char *val = line + used;
    tlm_gen_params g = s->o->gen;
    tlm_sampler_params *p = &g.sampling;
    double x = 0;
    long v = 0;
    bool ok;
    if (!strcmp(name, "seed") || !strcmp(name, "max_tokens") || !strcmp(name, "top_k")) {
        ok = tlm_cli_parse_int("run", name, val, -1, 1L << 30, &v);
        if (ok && name[0] == 's') s->o->seed_set = 1, p->seed = (uint64_t)v;
        if (ok && name[0] == 'm') g.max_tokens = (int32_t)v;
        if (ok && name[0] == 't') p->top_k = (int32_t)v;
    } else {
        static const struct {
            const char *name;
            size_t off;
        } fields[] = {
            {"temperature", offsetof(tlm_sampler_params, temperature)},
            {"top_p", offsetof(tlm_sampler_params, top_p)},
            {"min_p", offsetof(tlm_sampler_params, min_p)},
            {"typical_p", offsetof(tlm_sampler_params, typical_p)},
            {"repeat_penalty", offsetof(tlm_sampler_params, repeat_penalty)},
            {"presence_penalty", offsetof(tlm_sampler_params, presence_penalty)},
            {"frequency_penalty", offsetof(tlm_sampler_params, frequency_penalty)},
        };
        size_t i = 0;
        while (i < TLM_ARRAY_LEN(fields) && strcmp(fields[i].name, name)) i++;
        if (i == TLM_ARRAY_LEN(fields)) {
            fprintf(stderr, "unknown parameter '%s' (see /help)\n", name);
            return;
        }
        ok = tlm_cli_parse_float("run", name, val, -100, 100, &x);
        if (ok) *(float *)((char *)p + fields[i].off) = (float)x;
    }
    if (!ok) return;
    /* The sampler is the judge of what is valid. */
    tlm_sampler *probe = NULL;
    tlm_error err = {0};
    if (tlm_sampler_create(s->model, p, &probe, &err) != TLM_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    tlm_sampler_free(probe);
    s->o->gen = g;
    fprintf(stderr, "set %s to %s\n", name, val);
}

static void clear_chat(session *s) {
    json_array_clear(s->history);
    tlm_kv_seq_rm(s->ctx, 0, 0, -1);
    s->cache.n = 0;
}

/* Handles a /command; returns 1 when the chat should end. */
static int chat_command(session *s, char *line) {
    if (!strcmp(line, "/bye") || !strcmp(line, "/exit") || !strcmp(line, "/quit")) return 1;
    if (!strcmp(line, "/help") || !strcmp(line, "/?")) chat_help();
    else if (!strcmp(line, "/clear")) {
        clear_chat(s);
        fprintf(stderr, "(conversation cleared)\n");
    } else if (!strncmp(line, "/system", 7) && (!line[7] || line[7] == ' ')) {
        free(s->system);
        const char *t = line[7] ? line + 8 : "";
        s->system = *t ? strdup(t) : NULL;
        fprintf(stderr, s->system ? "(system prompt set)\n" : "(system prompt removed)\n");
    } else if (!strncmp(line, "/set ", 5)) set_param(s, line + 5);
    else if (!strcmp(line, "/stats")) {
        if (s->have_last) print_stats(s);
        else fprintf(stderr, "(no answer yet)\n");
    } else fprintf(stderr, "unknown command '%s' (/help lists them)\n", line);
    return 0;
}

static int chat_loop(session *s) {
    fprintf(stderr, "Chatting with %s. /help for commands, Ctrl-D or /bye to quit.\n",
            tlm_model_name(s->model));
    char *line = NULL;
    size_t cap = 0;
    for (;;) {
        fprintf(stderr, ">>> ");
        interrupted = 0;
        errno = 0;
        ssize_t len = getline(&line, &cap, stdin);
        if (len < 0) {
            if (errno == EINTR || interrupted) { /* Ctrl-C at the prompt */
                clearerr(stdin);
                fprintf(stderr, "\n(Ctrl-D or /bye to quit)\n");
                continue;
            }
            fputc('\n', stderr);
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (!len) continue;
        if (line[0] == '/') {
            if (chat_command(s, line)) break;
            continue;
        }
        if (answer(s, line, true) == 130) fprintf(stderr, "\n(stopped)\n");
    }
    free(line);
    return 0;
}

/* ---- Entry ---- */

/* Compiles --json-schema / --grammar / --json for the model.  A schema
 * keyword outside the supported subset is an error, not a warning: the
 * answer would otherwise not be what was asked for. */
static int open_structured(session *s) {
    const run_opts *o = s->o;
    const char *file = o->schema_file ? o->schema_file : o->grammar_file;
    if (!file && !o->json_object) return 0;
    size_t len = 0;
    char *text = NULL;
    if (file) {
        FILE *f = fopen(file, "rb");
        if (f) text = tlm_cli_read_all(f, &len);
        if (f) fclose(f);
        if (!text) {
            fprintf(stderr, "tinylm run: cannot read %s: %s\n", file, strerror(errno));
            return 1;
        }
    }
    tlm_structured_kind kind = o->schema_file    ? TLM_STRUCTURED_JSON_SCHEMA
                               : o->grammar_file ? TLM_STRUCTURED_GBNF
                                                 : TLM_STRUCTURED_JSON_OBJECT;
    tlm_error err = {0};
    tlm_status st = tlm_structured_create(s->model, kind, text, len, &s->structured, &err);
    tlm_free(text);
    if (st) fprintf(stderr, "tinylm run: %s: %s\n", file ? file : "--json", err.msg);
    return st ? 1 : 0;
}

static int open_session(session *s, const char *model_arg) {
    run_opts *o = s->o;
    if (tlm_cli_load_model("run", model_arg, (int32_t)o->n_threads, &s->model, NULL)) return 1;
    if (tlm_model_is_synth(s->model))
        fprintf(stderr,
                "note: %s has random weights (a synth model): its text is meaningless. "
                "`tinylm pull qwen2.5:0.5b-instruct` gets a real one.\n",
                model_arg);
    tlm_ctx_params cp = tlm_ctx_default_params();
    cp.n_ctx = (int32_t)o->n_ctx;
    cp.n_threads = (int32_t)o->n_threads;
    tlm_error err = {0};
    if (tlm_ctx_create(s->model, &cp, &s->ctx, &err) != TLM_OK) {
        fprintf(stderr, "tinylm run: cannot create a context: %s\n", err.msg);
        return 1;
    }
    tlm_sampler *probe = NULL;
    if (tlm_sampler_create(s->model, &o->gen.sampling, &probe, &err) != TLM_OK) {
        fprintf(stderr, "tinylm run: %s\n", err.msg);
        return 2;
    }
    tlm_sampler_free(probe);
    if (open_structured(s)) return 1;
    s->history = json_array();
    if (o->system) s->system = strdup(o->system);
    return 0;
}

static void close_session(session *s) {
    json_decref(s->history);
    free(s->system);
    tlm_buf_free(&s->answer);
    tlm_seq_cache_free(&s->cache);
    tlm_structured_free(s->structured);
    tlm_ctx_free(s->ctx);
    tlm_model_free(s->model);
}

/* --samples: N answers, one JSON string per line (a grammar's outputs can
 * hold newlines; the lines feed validators such as tests/grammar/
 * validate_ajv.js).  The prompt's KV cells are reused between answers. */
static int sample_answers(session *s, const char *prompt) {
    run_opts *o = s->o;
    if (!prompt) {
        fprintf(stderr, "tinylm run: --samples needs a prompt\n");
        return 2;
    }
    uint64_t base = o->seed_set ? o->gen.sampling.seed : (uint64_t)time(NULL);
    o->seed_set = 1;
    int rc = 0;
    for (long i = 0; i < o->samples && !rc; i++) {
        o->gen.sampling.seed = base + (uint64_t)i;
        rc = answer(s, prompt, false);
        json_t *j = json_stringn(s->answer.data ? s->answer.data : "", s->answer.len);
        char *line = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
        printf("%s\n", line ? line : "null");
        free(line);
        json_decref(j);
        if (s->structured && !tlm_structured_is_complete(s->structured))
            fprintf(stderr, "tinylm run: answer %ld is incomplete (%s)\n", i,
                    s->last.finish == TLM_FINISH_LENGTH ? "no completion fits -n" : "cut short");
    }
    fflush(stdout);
    return rc;
}

/* The one-shot prompt: the remaining arguments, else stdin when piped.
 * NULL (and *chat set) when the chat should start. */
static char *one_shot_prompt(int argc, char **argv, int *chat) {
    *chat = 0;
    if (optind < argc) {
        tlm_buf b = {0};
        for (int i = optind; i < argc; i++)
            if (tlm_buf_appendf(&b, "%s%s", i > optind ? " " : "", argv[i])) break;
        return b.data;
    }
    if (isatty(0)) {
        *chat = 1;
        return NULL;
    }
    size_t len;
    char *text = tlm_cli_read_all(stdin, &len);
    while (text && len && (text[len - 1] == '\n' || text[len - 1] == '\r')) text[--len] = '\0';
    return text;
}

int cmd_run(int argc, char **argv) {
    run_opts o = {.gen = tlm_gen_default_params()};
    int rc = parse_opts(argc, argv, &o);
    if (rc >= 0) return rc;
    if (optind >= argc) {
        fprintf(stderr, "tinylm run: no MODEL given (a GGUF file or a pulled name)\n\n");
        usage(stderr);
        return 2;
    }
    const char *model_arg = argv[optind++];
    int chat;
    char *prompt = one_shot_prompt(argc, argv, &chat);
    if (!prompt && !chat) {
        fprintf(stderr, "tinylm run: cannot read the prompt from stdin\n");
        return 1;
    }
    if (prompt && !prompt[0]) {
        fprintf(stderr, "tinylm run: the prompt is empty\n");
        tlm_free(prompt);
        return 2;
    }
    session s = {.o = &o};
    struct sigaction sa = {0};
    sa.sa_handler = on_sigint; /* no SA_RESTART: Ctrl-C interrupts a read */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    rc = open_session(&s, model_arg);
    if (!rc && o.samples) rc = sample_answers(&s, prompt);
    else if (!rc) rc = chat ? chat_loop(&s) : answer(&s, prompt, false);
    close_session(&s);
    tlm_free(prompt);
    return rc;
}
