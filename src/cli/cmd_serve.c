/*
 * cmd_serve.c - `tinylm serve`: the OpenAI- and Ollama-compatible HTTP
 * server (src/server/) for one or several models.
 *
 * Order of events: listen (so /health answers 503 "loading" at once),
 * load and warm each model, then serve until SIGINT or SIGTERM.  The first
 * signal stops new work and gives running generations --grace seconds to
 * finish; a second signal (or the deadline) cancels them.  Signals are
 * blocked in every thread and taken synchronously here with sigwait, so
 * no handler runs inside the library.
 */
#include "cli/commands.h"
#include "cli/model_arg.h"
#include "model/pull.h"
#include "server/server.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_MODELS 16

static void usage(FILE *f) {
    fprintf(f,
            "usage: tinylm serve [OPTIONS] [--model] MODEL [--model MODEL ...]\n\n"
            "Serves MODELs (GGUF files or pulled names) over HTTP with the OpenAI API\n"
            "(/v1/chat/completions, /v1/completions, /v1/models) and the Ollama API\n"
            "(/api/chat, /api/generate, /api/tags, /api/show, /api/version), plus /health\n"
            "and /metrics (Prometheus).  Requests name a model by its id: a pulled name, or\n"
            "the file name without .gguf.  See docs/API.md.\n\n"
            "options:\n"
            "  -m, --model MODEL   a model to serve (repeatable; the first is the default)\n"
            "  --host ADDR         address to listen on (default 127.0.0.1)\n"
            "  --port N            port (default 8080; 0 = any free port, printed at start)\n"
            "  --parallel N        requests generated at once per model, batched together\n"
            "                      (default 4, at most 64)\n"
            "  --ctx N             context per request in tokens (default min(4096, trained));\n"
            "                      the KV cache holds parallel x ctx tokens\n"
            "  --queue N           requests that may wait for a slot per model before the\n"
            "                      server answers 429 (default 64)\n"
            "  -t, --threads N     threads per model (default: all cores)\n"
            "  --api-key KEY       require 'Authorization: Bearer KEY' (or set\n"
            "                      TINYLM_API_KEY); /health stays open\n"
            "  --cors ORIGIN       send Access-Control-Allow-Origin: ORIGIN (e.g. '*')\n"
            "  --max-body BYTES    largest request body (default 8388608)\n"
            "  --grace SECONDS     on SIGINT/SIGTERM, time running requests get to finish\n"
            "                      (default 10; a second signal cancels them at once)\n"
            "  --quiet             no per-request log lines on stderr\n"
            "  --reports DIR       comparison reports for GET /reports (default\n"
            "                      $XDG_CACHE_HOME/tinylm/reports or ~/.cache/tinylm/reports)\n\n"
            "examples:\n"
            "  tinylm serve qwen2.5:0.5b-instruct\n"
            "  tinylm serve -m qwen.gguf -m gemma.gguf --parallel 8 --port 11434\n"
            "  tinylm serve model.gguf --host 0.0.0.0 --api-key secret --cors '*'\n"
            "  curl http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' \\\n"
            "       -d '{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"stream\":true}'\n");
}

typedef struct serve_opts {
    tlm_srv_params p;
    const char *args[MAX_MODELS];
    int n_args;
    long grace_s;
} serve_opts;

static int parse(int argc, char **argv, serve_opts *o) {
    static const struct option longs[] = {
        {"model", required_argument, 0, 'm'}, {"host", required_argument, 0, 'H'},
        {"port", required_argument, 0, 'p'}, {"parallel", required_argument, 0, 'P'},
        {"ctx", required_argument, 0, 'c'}, {"queue", required_argument, 0, 'q'},
        {"threads", required_argument, 0, 't'}, {"api-key", required_argument, 0, 'k'},
        {"cors", required_argument, 0, 'C'}, {"max-body", required_argument, 0, 'B'},
        {"grace", required_argument, 0, 'g'}, {"quiet", no_argument, 0, 'Q'},
        {"reports", required_argument, 0, 'R'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    long v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:t:c:h", longs, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (o->n_args == MAX_MODELS) {
                fprintf(stderr, "tinylm serve: at most %d models\n", MAX_MODELS);
                return 2;
            }
            o->args[o->n_args++] = optarg;
            break;
        case 'H': o->p.host = optarg; break;
        case 'p': if (!tlm_cli_parse_int("serve", "--port", optarg, 0, 65535, &v)) return 2;
            o->p.port = (int)v; break;
        case 'P': if (!tlm_cli_parse_int("serve", "--parallel", optarg, 1, 64, &v)) return 2;
            o->p.parallel = (int32_t)v; break;
        case 'c': if (!tlm_cli_parse_int("serve", "--ctx", optarg, 8, 1 << 20, &v)) return 2;
            o->p.ctx = (int32_t)v; break;
        case 'q': if (!tlm_cli_parse_int("serve", "--queue", optarg, 0, 100000, &v)) return 2;
            o->p.queue = (int32_t)v; break;
        case 't': if (!tlm_cli_parse_int("serve", "--threads", optarg, 1, 256, &v)) return 2;
            o->p.threads = (int32_t)v; break;
        case 'k': o->p.api_key = optarg; break;
        case 'C': o->p.cors = optarg; break;
        case 'B': if (!tlm_cli_parse_int("serve", "--max-body", optarg, 1024, 1L << 30, &v)) return 2;
            o->p.max_body = (size_t)v; break;
        case 'g': if (!tlm_cli_parse_int("serve", "--grace", optarg, 0, 3600, &v)) return 2;
            o->grace_s = v; break;
        case 'Q': o->p.log_requests = false; break;
        case 'R': o->p.reports_dir = optarg; break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return 2;
        }
    }
    for (; optind < argc && o->n_args < MAX_MODELS; optind++) o->args[o->n_args++] = argv[optind];
    if (o->n_args == 0) {
        fprintf(stderr, "tinylm serve: no model given (tinylm serve --help)\n");
        return 2;
    }
    if (o->p.api_key && !o->p.api_key[0]) o->p.api_key = NULL;
    return 0;
}

/* Model arguments -> paths; a pulled name is also the model's id. */
static int resolve(serve_opts *o, char **paths, const char **names) {
    for (int i = 0; i < o->n_args; i++) {
        tlm_error err = {0};
        if (tlm_pull_resolve(o->args[i], &paths[i], &err) != TLM_OK) {
            fprintf(stderr, "tinylm serve: %s\n", err.msg);
            return 1;
        }
        struct stat st;
        names[i] = stat(o->args[i], &st) == 0 ? NULL : o->args[i];
    }
    return 0;
}

static void on_loaded(void *user, const tlm_srv_model *m) {
    (void)user;
    tlm_sched_stats st;
    tlm_sched_get_stats(m->sched, &st);
    fprintf(stderr,
            "tinylm serve: loaded '%s' (%s, %.1fM parameters%s) in %.0f ms: %d slots x %d tokens "
            "of context, KV cache %.1f MiB\n",
            m->id, tlm_model_arch(m->model), tlm_model_n_params(m->model) / 1e6,
            tlm_model_is_synth(m->model) ? ", random weights" : "", m->load_ms, st.n_slots,
            st.n_ctx_slot, st.kv_bytes / 1048576.0);
    if (st.n_ctx_slot > tlm_model_n_ctx_train(m->model))
        fprintf(stderr,
                "tinylm serve: note: '%s' was trained on %d tokens of context; past that its text "
                "degrades\n",
                m->id, tlm_model_n_ctx_train(m->model));
}

/* A signal already waiting (taken), without blocking. */
static bool signal_pending(const sigset_t *set, int wait_ms) {
    struct timespec ts = {.tv_sec = wait_ms / 1000, .tv_nsec = (long)(wait_ms % 1000) * 1000000L};
    return sigtimedwait(set, NULL, &ts) > 0;
}

static int serve(serve_opts *o, const sigset_t *set) {
    tlm_error err = {0};
    tlm_srv *s = NULL;
    if (tlm_srv_create(&o->p, &s, &err) != TLM_OK) {
        fprintf(stderr, "tinylm serve: %s\n", err.msg);
        return 1;
    }
    /* An IPv6 address goes in brackets in a URL. */
    char host[300];
    snprintf(host, sizeof host, strchr(o->p.host, ':') ? "[%s]" : "%s", o->p.host);
    fprintf(stderr, "tinylm serve: listening on http://%s:%d (loading %d model%s)\n", host,
            tlm_srv_port(s), o->p.n_models, o->p.n_models > 1 ? "s" : "");
    if (tlm_srv_load(s, on_loaded, NULL, &err) != TLM_OK) {
        fprintf(stderr, "tinylm serve: %s\n", err.msg);
        tlm_srv_free(s);
        return 1;
    }
    fprintf(stderr, "tinylm serve: ready on http://%s:%d\n", host, tlm_srv_port(s));
    int sig = 0;
    sigwait(set, &sig);
    fprintf(stderr, "tinylm serve: %s: finishing running requests (up to %lds; signal again to "
                    "cancel them)\n", sig == SIGINT ? "interrupted" : "terminated", o->grace_s);
    tlm_srv_stop_accepting(s);
    for (long waited = 0; waited < o->grace_s * 1000 && !tlm_srv_idle(s); waited += 100)
        if (signal_pending(set, 100)) break;
    tlm_srv_shutdown(s, 0);
    tlm_srv_free(s);
    fprintf(stderr, "tinylm serve: stopped\n");
    return 0;
}

int cmd_serve(int argc, char **argv) {
    serve_opts o = {.p = {.host = "127.0.0.1", .port = 8080, .parallel = 4, .queue = 64,
                          .max_body = 8u << 20, .log_requests = true},
                    .grace_s = 10};
    o.p.api_key = getenv("TINYLM_API_KEY");
    int rc = parse(argc, argv, &o);
    if (rc) return rc == 1 ? 0 : rc;
    char *paths[MAX_MODELS] = {0};
    const char *names[MAX_MODELS] = {0};
    if (resolve(&o, paths, names) == 0) {
        o.p.models = (const char *const *)paths;
        o.p.names = names;
        o.p.n_models = o.n_args;
        /* Blocked before any thread starts, so every thread inherits it. */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);
        rc = serve(&o, &set);
    } else {
        rc = 1;
    }
    for (int i = 0; i < o.n_args; i++) tlm_free(paths[i]);
    return rc;
}
