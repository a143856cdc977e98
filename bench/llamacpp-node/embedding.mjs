// llama.cpp's embeddings for Tessera's cross-check (EmbeddingLlamaCppTest), through node-llama-cpp's
// prebuilt CPU binaries: each input (token ids, starting with BOS) is evaluated alone in an embedding
// context and llama.cpp's embedding is returned as is (not normalised). For a GGUF file without
// <arch>.pooling_type llama.cpp pools nothing and node-llama-cpp returns the last token's vector:
// the final hidden state after the output norm (llama.cpp's result_norm), i.e. LAST pooling.
// usage: node embedding.mjs MODEL.gguf IDS[;IDS...] [THREADS]   (IDS comma-separated)
// Prints one JSON object: {release, input_lengths: [n per input], vectors: [[...] per input]}.
import {getLlama, LlamaEmbeddingContext, LlamaLogLevel} from "node-llama-cpp";

const [modelPath, inputsArg, threadsArg] = process.argv.slice(2);
if (!modelPath || !inputsArg) {
    console.error("usage: node embedding.mjs MODEL.gguf IDS[;IDS...] [THREADS]");
    process.exit(2);
}
const inputs = inputsArg.split(";").map(s => s.split(",").map(Number));
if (inputs.some(ids => ids.length === 0 || ids.some(t => !Number.isInteger(t) || t < 0))) {
    throw new Error("inputs must be lists of non-negative integers: " + inputsArg);
}
const threads = Number(threadsArg ?? 1);
const llama = await getLlama({gpu: false, build: "never", maxThreads: threads, logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath, gpuLayers: 0, useMmap: true});
const longest = Math.max(...inputs.map(ids => ids.length));
// what createEmbeddingContext builds, but with an F32 KV cache and no flash attention (as logits.mjs
// runs), so that what is left between the two engines is the forward pass's arithmetic
const llamaContext = await model.createContext({
    contextSize: longest + 8,
    batchSize: longest + 8,
    threads,
    sequences: 1,
    flashAttention: false,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
    _embeddings: true
});
if (llamaContext.kvCacheKeyType !== 0 || llamaContext.kvCacheValueType !== 0) {
    throw new Error("llama.cpp did not take an F32 KV cache: " + [llamaContext.kvCacheKeyType, llamaContext.kvCacheValueType]);
}
const context = new LlamaEmbeddingContext({_llamaContext: llamaContext});
const inputLengths = [];
const vectors = [];
for (const ids of inputs) {
    // node-llama-cpp prepends BOS when missing and appends EOS when the vocabulary asks for it:
    // the length it evaluates tells the caller whether the tokens were taken as given
    inputLengths.push(context.calculateInputLength(ids.slice()));
    const embedding = await context.getEmbeddingFor(ids.slice());
    vectors.push(Array.from(embedding.vector));
}
console.log(JSON.stringify({release: llama.llamaCppRelease.release, input_lengths: inputLengths, vectors}));
await context.dispose();
await model.dispose();
await llama.dispose();
