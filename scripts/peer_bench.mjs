// The reference peer (llama.cpp, through node-llama-cpp's prebuilt addon)
// timed the way llama-bench times it, so tinylm and the peer can be compared
// on one host in one run (scripts/peer_bench.sh drives it):
//   pp  one 512-token decode into an empty cache, logits of the last token;
//   tg  N one-token decodes from an empty cache.
// It drives the addon's context (llama_decode) directly: the library's own
// generation loop schedules each token through the event loop, which cost
// a third of the peer's speed when measured.  Prints one JSON line.
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const [, , path, reps = "3", ntg = "128", threads = "2"] = process.argv;
const llama = await getLlama({gpu: false, build: "never", maxThreads: +threads,
                              logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath: path});
const context = await model.createContext({contextSize: 1024, batchSize: 512, threads: +threads,
                                           sequences: 1});
const c = context._ctx;
c.setThreads(+threads);

const tokens = Array.from({length: 512}, (_, i) => 100 + ((i * 7919) % 20000));
const median = a => [...a].sort((x, y) => x - y)[a.length >> 1];
const clear = () => c.removeTokenCellsFromSequence(0, 0, 1 << 30);
async function decode(pos, tk) {
    c.initBatch(tk.length);
    c.addToBatch(0, pos, Uint32Array.from(tk), Uint32Array.from([tk.length - 1]));
    await c.decodeBatch();
}

await decode(0, tokens.slice(0, 16)); /* warm-up, as llama-bench does */
const pp = [], tg = [];
for (let r = 0; r < +reps; r++) {
    clear();
    let t = performance.now();
    await decode(0, tokens);
    pp.push(512 / ((performance.now() - t) / 1000));
    clear();
    t = performance.now();
    for (let k = 0; k < +ntg; k++) await decode(k, [tokens[k]]);
    tg.push(+ntg / ((performance.now() - t) / 1000));
}
const r1 = a => a.map(x => +x.toFixed(1));
console.log(JSON.stringify({model: path.split("/").pop(), pp512: r1(pp),
                            pp_median: +median(pp).toFixed(1), tg: r1(tg),
                            tg_median: +median(tg).toFixed(1), tg_tokens: +ntg}));
process.exit(0);
