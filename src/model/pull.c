/*
 * pull.c - model downloads with libcurl into the cache (contract in
 * pull.h): resume through HTTP Range, a magic check on the first bytes so
 * that an HTML error page is refused at once, and size / digest checks
 * before the file gets its final name.
 */
#include "model/pull.h"

#include "core/util.h"
#include "model/sha256.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Known models ----
 * Sizes and digests are left unknown (0 / NULL) where they were not
 * checked against the published files: the GGUF and Content-Length checks
 * still apply. */
static const tlm_pull_known known[] = {
    {"qwen2.5:0.5b-instruct",
     "https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/"
     "qwen2.5-0.5b-instruct-q4_k_m.gguf",
     "qwen2.5-0.5b-instruct-q4_k_m.gguf", 0, NULL,
     "Qwen2.5 0.5B Instruct, Q4_K_M, from the official Qwen GGUF repository"},
    {"gemma:2b-instruct",
     "https://huggingface.co/lmstudio-ai/gemma-2b-it-GGUF/resolve/main/gemma-2b-it-q4_k_m.gguf",
     "gemma-2b-it-q4_k_m.gguf", 0, NULL,
     "Gemma 2B instruction-tuned, Q4_K_M (lmstudio-ai/gemma-2b-it-GGUF)"},
};

const tlm_pull_known *tlm_pull_known_at(int i) {
    return i >= 0 && (size_t)i < TLM_ARRAY_LEN(known) ? &known[i] : NULL;
}

const tlm_pull_known *tlm_pull_find_known(const char *name) {
    for (size_t i = 0; name && i < TLM_ARRAY_LEN(known); i++)
        if (!strcmp(known[i].name, name)) return &known[i];
    return NULL;
}

/* ---- Paths ---- */

static char *path_join(const char *dir, const char *file) {
    tlm_buf b = {0};
    if (tlm_buf_appendf(&b, "%s/%s", dir, file)) {
        tlm_buf_free(&b);
        return NULL;
    }
    return b.data;
}

tlm_status tlm_pull_cache_dir(char **out, tlm_error *err) {
    *out = NULL;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    tlm_buf b = {0};
    tlm_status s;
    if (xdg && xdg[0] == '/') s = tlm_buf_appendf(&b, "%s/tinylm/models", xdg);
    else if (home && home[0]) s = tlm_buf_appendf(&b, "%s/.cache/tinylm/models", home);
    else
        return tlm_error_set(err, TLM_ERR_NOT_FOUND,
                             "pull: neither XDG_CACHE_HOME nor HOME is set; cannot place the "
                             "model cache");
    if (s) {
        tlm_buf_free(&b);
        return tlm_error_set(err, s, "pull: out of memory");
    }
    *out = b.data;
    return TLM_OK;
}

/* mkdir -p. */
static tlm_status make_dirs(const char *dir, tlm_error *err) {
    char *p = tlm_strdup(dir);
    if (!p) return tlm_error_set(err, TLM_ERR_NOMEM, "pull: out of memory");
    for (char *q = p + 1;; q++) {
        if (*q != '/' && *q != '\0') continue;
        char c = *q;
        *q = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            tlm_status s = tlm_error_set(err, TLM_ERR_IO, "pull: cannot create %s: %s", p,
                                         strerror(errno));
            tlm_free(p);
            return s;
        }
        if (!(*q = c)) break;
    }
    tlm_free(p);
    return TLM_OK;
}

/* The last path component of a URL, without query or fragment, made safe
 * as a file name, ending in .gguf. */
static char *file_from_url(const char *url) {
    const char *start = strstr(url, "://");
    start = start ? start + 3 : url;
    size_t end = strcspn(start, "?#");
    const char *slash = NULL;
    for (const char *c = start; c < start + end; c++)
        if (*c == '/') slash = c;
    const char *name = slash ? slash + 1 : start + end;
    size_t len = (size_t)(start + end - name);
    tlm_buf b = {0};
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '-' || c == '_' || c == '+';
        if (tlm_buf_append(&b, ok ? &c : "_", 1)) goto fail;
    }
    if (!b.len || b.data[0] == '.')
        if (tlm_buf_append(&b, "model", 5)) goto fail;
    if (b.len < 5 || strcmp(b.data + b.len - 5, ".gguf"))
        if (tlm_buf_append(&b, ".gguf", 5)) goto fail;
    return b.data;
fail:
    tlm_buf_free(&b);
    return NULL;
}

static int is_file(const char *path, uint64_t *size) {
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) return 0;
    if (size) *size = (uint64_t)sb.st_size;
    return 1;
}

/* ---- Checks ---- */

/* A GGUF file starts with "GGUF" and a little-endian version (2 or 3). */
static tlm_status check_file(const char *path, uint64_t want_size, const char *sha256,
                             tlm_error *err) {
    uint64_t size = 0;
    FILE *f = fopen(path, "rb");
    if (!f || !is_file(path, &size)) {
        if (f) fclose(f);
        return tlm_error_set(err, TLM_ERR_IO, "pull: cannot read %s", path);
    }
    unsigned char head[8] = {0};
    size_t got = fread(head, 1, 8, f);
    tlm_status s = TLM_OK;
    uint32_t version = head[4] | (uint32_t)head[5] << 8 | (uint32_t)head[6] << 16 |
                       (uint32_t)head[7] << 24;
    if (got < 8 || memcmp(head, "GGUF", 4))
        s = tlm_error_set(err, TLM_ERR_FORMAT,
                          "pull: the download is not a GGUF file (it starts with \"%.4s\"); "
                          "check the URL",
                          got >= 4 ? (const char *)head : "");
    else if (version < 2 || version > 3)
        s = tlm_error_set(err, TLM_ERR_FORMAT, "pull: unsupported GGUF version %u", version);
    else if (want_size && size != want_size)
        s = tlm_error_set(err, TLM_ERR_FORMAT, "pull: size %llu bytes, expected %llu",
                          (unsigned long long)size, (unsigned long long)want_size);
    if (!s && sha256) {
        enum { CHUNK = 1 << 20 };
        unsigned char *buf = tlm_malloc(CHUNK);
        if (!buf) {
            fclose(f);
            return tlm_error_set(err, TLM_ERR_NOMEM, "pull: out of memory");
        }
        tlm_sha256 h;
        tlm_sha256_init(&h);
        rewind(f);
        size_t n;
        while ((n = fread(buf, 1, CHUNK, f)) > 0) tlm_sha256_update(&h, buf, n);
        tlm_free(buf);
        char hex[65];
        tlm_sha256_final_hex(&h, hex);
        if (strcmp(hex, sha256))
            s = tlm_error_set(err, TLM_ERR_FORMAT, "pull: SHA-256 %s, expected %s", hex, sha256);
    }
    fclose(f);
    return s;
}

/* ---- Transfer ---- */

typedef struct dl {
    FILE *f;
    uint64_t offset;       /* bytes of the .partial file kept from before */
    uint64_t written;      /* bytes written by this transfer */
    int status_checked;
    int bad_magic;
    unsigned char head[4]; /* the file's first bytes, for the magic check */
    CURL *curl;
    const tlm_pull_params *p;
} dl;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *user) {
    dl *d = user;
    size_t n = size * nmemb;
    if (!d->status_checked) {
        long code = 0;
        curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &code);
        d->status_checked = 1;
        if (d->offset > 0 && code == 200) { /* the server ignored Range: start over */
            if (ftruncate(fileno(d->f), 0) != 0 || fseek(d->f, 0, SEEK_SET) != 0) return 0;
            d->offset = 0;
        }
    }
    /* Refuse a non-GGUF body (an error page) as soon as 4 bytes are in. */
    for (size_t i = 0; i < n && d->offset + d->written + i < 4; i++) {
        uint64_t at = d->offset + d->written + i;
        d->head[at] = (unsigned char)ptr[i];
        if (at == 3 && memcmp(d->head, "GGUF", 4)) {
            d->bad_magic = 1;
            return 0;
        }
    }
    if (fwrite(ptr, 1, n, d->f) != n) return 0;
    d->written += n;
    return n;
}

static int on_progress(void *user, curl_off_t total, curl_off_t now, curl_off_t ut,
                       curl_off_t un) {
    dl *d = user;
    if (d->p->cancel && *d->p->cancel) return 1;
    if (d->p->progress)
        d->p->progress(d->p->user, d->offset + (uint64_t)now,
                       total > 0 ? d->offset + (uint64_t)total : 0);
    return 0;
}

static tlm_status transfer_error(CURLcode rc, dl *d, const char *url, const char *partial,
                                 const char *errbuf, tlm_error *err) {
    long code = 0;
    curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &code);
    if (d->bad_magic) {
        remove(partial);
        return tlm_error_set(err, TLM_ERR_FORMAT,
                             "pull: %s is not a GGUF file (it starts with \"%.4s\"); check the "
                             "URL",
                             url, (const char *)d->head);
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return tlm_error_set(err, TLM_ERR_CANCELLED,
                             "pull: stopped; run the same command to resume");
    if (rc == CURLE_HTTP_RETURNED_ERROR) {
        if (code != 416) remove(partial);
        return tlm_error_set(err, code == 404 ? TLM_ERR_NOT_FOUND : TLM_ERR_IO,
                             "pull: HTTP %ld for %s%s", code, url,
                             code == 401 || code == 403
                                 ? " (a gated model? set HF_TOKEN to a Hugging Face token)"
                                 : "");
    }
    return tlm_error_set(err, TLM_ERR_IO,
                         "pull: download of %s interrupted after %llu bytes (%s); run the same "
                         "command again to resume",
                         url, (unsigned long long)(d->offset + d->written),
                         errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

/* Fetches url into partial, resuming what is there.  On success *total is
 * the size the server announced (0 when it did not). */
static tlm_status fetch(const char *url, const char *partial, const tlm_pull_params *p,
                        uint64_t *total, tlm_error *err) {
    uint64_t have = 0;
    if (!is_file(partial, &have)) have = 0;
    if (have > 0 && have < 4) have = 0; /* too short to have passed the magic check: redo */
    dl d = {.offset = have, .p = p};
    if (have >= 4) memcpy(d.head, "GGUF", 4); /* checked when that part came in */
    d.f = fopen(partial, have ? "ab" : "wb");
    if (!d.f) return tlm_error_set(err, TLM_ERR_IO, "pull: cannot write %s: %s", partial,
                                   strerror(errno));
    d.curl = curl_easy_init();
    if (!d.curl) {
        fclose(d.f);
        return tlm_error_set(err, TLM_ERR_INTERNAL, "pull: curl_easy_init failed");
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdr = NULL;
    const char *token = getenv("HF_TOKEN");
    if (token && token[0] && strstr(url, "://huggingface.co/")) {
        tlm_buf h = {0};
        if (!tlm_buf_appendf(&h, "Authorization: Bearer %s", token))
            hdr = curl_slist_append(NULL, h.data);
        tlm_buf_free(&h);
    }
    curl_easy_setopt(d.curl, CURLOPT_URL, url);
    curl_easy_setopt(d.curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(d.curl, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(d.curl, CURLOPT_USERAGENT, "tinylm/" TLM_VERSION_STRING);
    curl_easy_setopt(d.curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(d.curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(d.curl, CURLOPT_WRITEDATA, &d);
    curl_easy_setopt(d.curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(d.curl, CURLOPT_XFERINFODATA, &d);
    curl_easy_setopt(d.curl, CURLOPT_NOPROGRESS, 0L);
    /* A stalled connection fails after 30 s below 1 kB/s instead of hanging. */
    curl_easy_setopt(d.curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(d.curl, CURLOPT_LOW_SPEED_TIME, 30L);
    if (hdr) curl_easy_setopt(d.curl, CURLOPT_HTTPHEADER, hdr);
    /* A plain Range header rather than CURLOPT_RESUME_FROM: curl refuses a
     * 200 answer to that, while on_data handles it by starting over. */
    char range[32];
    snprintf(range, sizeof range, "%llu-", (unsigned long long)have);
    if (have) curl_easy_setopt(d.curl, CURLOPT_RANGE, range);
    CURLcode rc = curl_easy_perform(d.curl);
    int close_failed = fclose(d.f) != 0;
    tlm_status s = TLM_OK;
    long code = 0;
    curl_easy_getinfo(d.curl, CURLINFO_RESPONSE_CODE, &code);
    if (rc == CURLE_HTTP_RETURNED_ERROR && code == 416 && have) {
        *total = 0; /* nothing left to fetch: the checks decide */
    } else if (rc != CURLE_OK) {
        s = transfer_error(rc, &d, url, partial, errbuf, err);
    } else if (close_failed) {
        s = tlm_error_set(err, TLM_ERR_IO, "pull: writing %s failed", partial);
    } else {
        curl_off_t cl = -1;
        curl_easy_getinfo(d.curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        *total = cl >= 0 ? d.offset + (uint64_t)cl : 0;
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(d.curl);
    return s;
}

static tlm_status download(const char *url, const char *final, const char *sha256,
                           uint64_t want_size, const tlm_pull_params *p, tlm_error *err) {
    char *partial = NULL;
    tlm_buf b = {0};
    if (tlm_buf_appendf(&b, "%s.partial", final))
        return tlm_error_set(err, TLM_ERR_NOMEM, "pull: out of memory");
    partial = b.data;
    uint64_t total = 0, size = 0;
    tlm_status s = fetch(url, partial, p, &total, err);
    if (!s && total && (!is_file(partial, &size) || size != total))
        s = tlm_error_set(err, TLM_ERR_IO,
                          "pull: got %llu of %llu bytes of %s; run the same command again to "
                          "resume",
                          (unsigned long long)size, (unsigned long long)total, url);
    if (!s) {
        s = check_file(partial, want_size, sha256, err);
        if (s) remove(partial);
    }
    if (!s && rename(partial, final) != 0)
        s = tlm_error_set(err, TLM_ERR_IO, "pull: cannot rename %s: %s", partial,
                          strerror(errno));
    tlm_free(partial);
    return s;
}

tlm_status tlm_pull(const char *name_or_url, const tlm_pull_params *params, char **out_path,
                    tlm_error *err) {
    *out_path = NULL;
    tlm_pull_params none = {0};
    const tlm_pull_params *p = params ? params : &none;
    const tlm_pull_known *k = tlm_pull_find_known(name_or_url);
    int is_url = name_or_url &&
                 (!strncmp(name_or_url, "http://", 7) || !strncmp(name_or_url, "https://", 8));
    if (!k && !is_url)
        return tlm_error_set(err, TLM_ERR_NOT_FOUND,
                             "pull: '%s' is neither a known model nor an http(s) URL (see "
                             "tinylm pull --help for the known names)",
                             name_or_url ? name_or_url : "");
    char *dir = NULL, *file = NULL, *final = NULL;
    tlm_status s = TLM_OK;
    if (p->dir) dir = tlm_strdup(p->dir);
    else if ((s = tlm_pull_cache_dir(&dir, err))) return s;
    file = k ? tlm_strdup(k->file) : file_from_url(name_or_url);
    final = dir && file ? path_join(dir, file) : NULL;
    if (!final) {
        s = tlm_error_set(err, TLM_ERR_NOMEM, "pull: out of memory");
        goto done;
    }
    if ((s = make_dirs(dir, err))) goto done;
    if (!is_file(final, NULL)) {
        const char *sha = p->sha256 ? p->sha256 : k ? k->sha256 : NULL;
        s = download(k ? k->url : name_or_url, final, sha, k ? k->size : 0, p, err);
    }
    if (!s) {
        *out_path = final;
        final = NULL;
    }
done:
    tlm_free(dir);
    tlm_free(file);
    tlm_free(final);
    return s;
}

/* ---- Finding pulled models ---- */

static char *cached_file(const char *dir, const char *model) {
    const tlm_pull_known *k = tlm_pull_find_known(model);
    char *path = path_join(dir, k ? k->file : model);
    if (path && is_file(path, NULL)) return path;
    tlm_free(path);
    tlm_buf b = {0};
    if (!k && !tlm_buf_appendf(&b, "%s/%s.gguf", dir, model) && is_file(b.data, NULL))
        return b.data;
    tlm_buf_free(&b);
    return NULL;
}

tlm_status tlm_pull_resolve(const char *model, char **out_path, tlm_error *err) {
    *out_path = NULL;
    if (!model || !model[0])
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "no model given: pass a GGUF file or a "
                                                       "pulled model name");
    if (is_file(model, NULL)) {
        *out_path = tlm_strdup(model);
        return *out_path ? TLM_OK : tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    }
    char *dir = NULL;
    if (!strchr(model, '/') && tlm_pull_cache_dir(&dir, NULL) == TLM_OK) {
        *out_path = cached_file(dir, model);
        tlm_free(dir);
        if (*out_path) return TLM_OK;
    }
    if (tlm_pull_find_known(model))
        return tlm_error_set(err, TLM_ERR_NOT_FOUND,
                             "model '%s' is not pulled yet: run `tinylm pull %s` first", model,
                             model);
    return tlm_error_set(err, TLM_ERR_NOT_FOUND,
                         "no model file or pulled model named '%s': give the path of a GGUF "
                         "file, or pull one (`tinylm pull --list` shows what is here, "
                         "`tinylm pull --help` the known names)",
                         model);
}

static int cmp_entry(const void *a, const void *b) {
    return strcmp(((const tlm_pull_entry *)a)->name, ((const tlm_pull_entry *)b)->name);
}

/* One cache entry for file (a *.gguf name) in dir; 0 when skipped. */
static int make_entry(const char *dir, const char *file, tlm_pull_entry *e) {
    size_t len = strlen(file);
    if (len <= 5 || strcmp(file + len - 5, ".gguf")) return 0;
    e->path = path_join(dir, file);
    if (!e->path || !is_file(e->path, &e->size)) {
        tlm_free(e->path);
        return 0;
    }
    const char *name = NULL;
    for (int i = 0; tlm_pull_known_at(i); i++)
        if (!strcmp(tlm_pull_known_at(i)->file, file)) name = tlm_pull_known_at(i)->name;
    e->name = name ? tlm_strdup(name) : tlm_strndup(file, len - 5);
    return e->name ? 1 : (tlm_free(e->path), 0);
}

tlm_status tlm_pull_list(const char *dir, tlm_pull_entry **out, int32_t *n_out, tlm_error *err) {
    *out = NULL;
    *n_out = 0;
    char *own = NULL;
    tlm_status s = TLM_OK;
    if (!dir) {
        if ((s = tlm_pull_cache_dir(&own, err))) return s;
        dir = own;
    }
    DIR *dp = opendir(dir);
    if (!dp) {
        tlm_free(own);
        return TLM_OK; /* nothing pulled yet */
    }
    tlm_pull_entry *v = NULL;
    int32_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            tlm_pull_entry *g = tlm_realloc(v, (size_t)cap * sizeof *v);
            if (!g) {
                s = tlm_error_set(err, TLM_ERR_NOMEM, "pull: out of memory");
                break;
            }
            v = g;
        }
        n += make_entry(dir, de->d_name, &v[n]);
    }
    closedir(dp);
    tlm_free(own);
    if (s) {
        tlm_pull_list_free(v, n);
        return s;
    }
    if (n) qsort(v, (size_t)n, sizeof *v, cmp_entry);
    *out = v;
    *n_out = n;
    return TLM_OK;
}

void tlm_pull_list_free(tlm_pull_entry *entries, int32_t n) {
    for (int32_t i = 0; entries && i < n; i++) {
        tlm_free(entries[i].name);
        tlm_free(entries[i].path);
    }
    tlm_free(entries);
}
