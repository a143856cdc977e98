// llama.cpp side of Tessera's comparison harness (bench/compare.sh), through node-llama-cpp's
// prebuilt CPU binaries. Measures what `tessera bench offline` measures, on the same file:
// prefill of N prompt tokens in one batch, and decode of M tokens (batch 1) from an empty context,
// best of --repeat runs after a warm-up. Prints one JSON object.
// usage: node bench.mjs MODEL.gguf THREADS PROMPT_TOKENS GEN_TOKENS [REPEAT]
import {getLlama, LlamaLogLevel} from "node-llama-cpp";
import {readFileSync} from "node:fs";

const [modelPath, threadsArg, promptArg, genArg, repeatArg] = process.argv.slice(2);
if (!modelPath) {
    console.error("usage: node bench.mjs MODEL.gguf THREADS PROMPT_TOKENS GEN_TOKENS [REPEAT]");
    process.exit(2);
}
const threads = Number(threadsArg ?? 2);
const promptN = Number(promptArg ?? 128);
const genN = Number(genArg ?? 128);
const repeat = Number(repeatArg ?? 2);

const llama = await getLlama({gpu: false, build: "never", maxThreads: threads, logLevel: LlamaLogLevel.error});

const t0 = performance.now();
const model = await llama.loadModel({modelPath, gpuLayers: 0, useMmap: true});
const loadSeconds = (performance.now() - t0) / 1000;
// which of the prebuilt CPU variants ggml picked for this processor: the library mapped into this process
const cpuVariant = (/libggml-cpu-([a-z0-9_]+)\.so/.exec(readFileSync("/proc/self/maps", "utf8")) ?? [null, "unknown"])[1];
const context = await model.createContext({
    contextSize: Math.max(promptN, genN) + 16,
    batchSize: promptN,
    threads,
    sequences: 1
});
const sequence = context.getSequence();
const vocab = model.fileInfo?.metadata?.tokenizer?.ggml?.tokens?.length ?? 0;
if (vocab < 16) throw new Error("cannot read the vocabulary size of " + modelPath);
// arbitrary but valid token ids, different per run (the cache is cleared between runs anyway)
const tokens = (n, seed) => Array.from({length: n}, (_, i) => 3 + ((i * 7919 + seed * 104729) % (vocab - 3)));

async function prefill(n, seed) {
    await sequence.clearHistory();
    const t = performance.now();
    await sequence.evaluateWithoutGeneratingNewTokens(tokens(n, seed));
    return (performance.now() - t) / 1000;
}

async function decode(n, seed) {
    await sequence.clearHistory();
    let count = 0;
    const t = performance.now();
    for await (const _ of sequence.evaluate(tokens(1, seed), {temperature: 0})) {
        if (++count >= n) break;
    }
    return (performance.now() - t) / 1000;
}

await prefill(Math.min(promptN, 32), 1);
await decode(Math.min(genN, 8), 2);
let p = Infinity, d = Infinity;
for (let r = 0; r < repeat; r++) {
    p = Math.min(p, await prefill(promptN, 3 + r));
    d = Math.min(d, await decode(genN, 10 + r));
}
console.log(JSON.stringify({
    engine: "llama.cpp via node-llama-cpp 3.22.1",
    cpu_variant: cpuVariant,
    threads,
    load_seconds: loadSeconds,
    prefill_tokens_per_s: promptN / p,
    decode_tokens_per_s: genN / d
}));
await context.dispose();
await model.dispose();
await llama.dispose();
