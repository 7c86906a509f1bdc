/*
 * assets.h - the chat page, built from web/ by web/build.mjs into one
 * self-contained HTML file (script and styles inline) and compiled into
 * the library as assets_gen.c, generated in the build directory by
 * web/assets.cmake.  Everything here is static, read-only data.
 */
#ifndef TLM_WEB_ASSETS_H
#define TLM_WEB_ASSETS_H

#include <stddef.h>

extern const unsigned char tlm_web_index_html[];   /* (tlm_web_index_html_len) UTF-8 bytes */
extern const size_t tlm_web_index_html_len;
/* A strong ETag, quotes included: a hash of the page's bytes. */
extern const char tlm_web_index_html_etag[];
/* The page's Content-Security-Policy: its inline script by SHA-256 hash. */
extern const char tlm_web_index_html_csp[];

#endif /* TLM_WEB_ASSETS_H */
