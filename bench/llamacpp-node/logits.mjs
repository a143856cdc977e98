// llama.cpp's logits for Tessera's cross-check (LlamaCppLogitsTest), through node-llama-cpp's prebuilt
// CPU binaries: evaluates a prompt in one batch and returns the raw logits at every position, then
// continues greedily (argmax of the raw logits, lowest id on a tie) for N tokens, returning the logits
// of each step too. The KV cache is F32 and flash attention off, so that what is left between the
// two engines is the arithmetic of the forward pass itself.
// usage: node logits.mjs MODEL.gguf PROMPT_IDS(comma-separated) GENERATE [THREADS] [KV_TYPE]
// Prints one JSON object: {release, cpu_variant, kv_type, vocab, prompt_logits: [[...] per position],
//   generated: [ids], generated_logits: [[...] per step, the logits that chose that step's token]}.
import {getLlama, LlamaLogLevel} from "node-llama-cpp";
import {readFileSync} from "node:fs";

const [modelPath, promptArg, generateArg, threadsArg, kvArg] = process.argv.slice(2);
if (!modelPath || !promptArg) {
    console.error("usage: node logits.mjs MODEL.gguf PROMPT_IDS GENERATE [THREADS] [KV_TYPE]");
    process.exit(2);
}
const prompt = promptArg.split(",").map(Number);
const generate = Number(generateArg ?? 0);
const threads = Number(threadsArg ?? 1);
const kvType = (kvArg ?? "F32").toUpperCase();
if (prompt.some(t => !Number.isInteger(t) || t < 0)) throw new Error("prompt ids must be non-negative integers: " + promptArg);

const llama = await getLlama({gpu: false, build: "never", maxThreads: threads, logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath, gpuLayers: 0, useMmap: true});
const cpuVariant = (/libggml-cpu-([a-z0-9_]+)\.so/.exec(readFileSync("/proc/self/maps", "utf8")) ?? [null, "unknown"])[1];
const vocab = model.fileInfo?.metadata?.tokenizer?.ggml?.tokens?.length ?? 0;
if (vocab < 2) throw new Error("cannot read the vocabulary size of " + modelPath);
const context = await model.createContext({
    contextSize: prompt.length + generate + 8,
    batchSize: prompt.length,
    threads,
    sequences: 1,
    flashAttention: false,
    experimentalKvCacheKeyType: kvType,
    experimentalKvCacheValueType: kvType
});
const sequence = context.getSequence();

/** The dense logit vector of one evaluated position (the binding returns a map sorted by logit). */
function dense(result, position) {
    const map = result?.next?.logits;
    if (!map || map.size !== vocab) {
        throw new Error(`position ${position}: expected ${vocab} logits, got ${map?.size ?? "none"}`);
    }
    const out = new Array(vocab);
    for (const [token, logit] of map) out[token] = logit;
    return out;
}

/** The greedy choice: the largest logit, the lowest id among equals. */
function argmax(logits) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    return best;
}

const withLogits = token => [token, {generateNext: {logits: true}}];
const promptResults = await sequence.controlledEvaluate(prompt.map(withLogits));
const promptLogits = promptResults.map(dense);
const generated = [];
const generatedLogits = [];
let next = argmax(promptLogits[promptLogits.length - 1]);
for (let step = 0; step < generate; step++) {
    generated.push(next);
    if (step === generate - 1) break;
    const [result] = await sequence.controlledEvaluate([withLogits(next)]);
    const logits = dense(result, prompt.length + step);
    generatedLogits.push(logits);
    next = argmax(logits);
}
console.log(JSON.stringify({
    release: llama.llamaCppRelease.release,
    cpu_variant: cpuVariant,
    kv_type: kvType,
    kv_types_in_use: [context.kvCacheKeyType, context.kvCacheValueType],
    vocab,
    prompt_logits: promptLogits,
    generated,
    generated_logits: generatedLogits
}));
await context.dispose();
await model.dispose();
await llama.dispose();
