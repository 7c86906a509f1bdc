// render.js - model output to safe HTML: Markdown (marked, GFM tables and
// fenced code), then DOMPurify, because the text is untrusted and could
// carry script or event-handler attributes, then highlight.js on code
// blocks and a copy button on each.  Only a few common languages are
// bundled, to keep the page small.
import { marked } from 'marked';
import DOMPurify from 'dompurify';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import css from 'highlight.js/lib/languages/css';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import { t } from './i18n.js';

const LANGS = { bash, c, cpp, css, go, java, javascript, json, python, rust, sql, typescript, xml, yaml };
for (const [name, def] of Object.entries(LANGS)) hljs.registerLanguage(name, def);

marked.setOptions({ gfm: true, breaks: true });

export function toSafeHtml(text) {
  return DOMPurify.sanitize(marked.parse(text || ''), { USE_PROFILES: { html: true } });
}

function addCopy(pre) {
  const btn = document.createElement('button');
  btn.className = 'copy';
  btn.type = 'button';
  btn.textContent = t('copy');
  btn.addEventListener('click', async () => {
    const text = pre.querySelector('code')?.textContent ?? pre.textContent;
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // No clipboard permission (plain http on another host): select instead.
      const r = document.createRange();
      r.selectNodeContents(pre);
      getSelection().removeAllRanges();
      getSelection().addRange(r);
    }
    btn.textContent = t('copied');
    setTimeout(() => { btn.textContent = t('copy'); }, 1200);
  });
  pre.appendChild(btn);
}

// Replaces el's content with the rendered text.
export function renderMarkdown(el, text) {
  el.innerHTML = toSafeHtml(text);
  for (const code of el.querySelectorAll('pre code')) {
    const m = /language-([\w+-]+)/.exec(code.className);
    if (m && hljs.getLanguage(m[1])) hljs.highlightElement(code);
    addCopy(code.parentElement);
  }
}

// Renders at most once per animation frame while text streams in: a
// re-parse per token would be quadratic in the answer's length.
export function liveRenderer(el) {
  let pending = null;
  return (text) => {
    const first = pending === null;
    pending = text;
    if (!first) return;
    requestAnimationFrame(() => {
      renderMarkdown(el, pending);
      pending = null;
    });
  };
}
