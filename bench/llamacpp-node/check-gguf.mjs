// llama.cpp side of Tessera's conversion check (HfGgufLlamaCppTest): loads a GGUF file written by
// `tessera convert` through node-llama-cpp's prebuilt CPU binaries, tokenizes the given texts and
// continues one prompt greedily. Prints one JSON object.
// usage: node check-gguf.mjs MODEL.gguf REQUEST.json
//   REQUEST: {"texts": ["..."], "prompt": [ids...], "generate": N}
//   output:  {"tokens": [[ids...] per text], "greedy": [N ids]}
import {getLlama, LlamaLogLevel} from "node-llama-cpp";
import {readFileSync} from "node:fs";

const [modelPath, requestPath] = process.argv.slice(2);
if (!modelPath || !requestPath) {
    console.error("usage: node check-gguf.mjs MODEL.gguf REQUEST.json");
    process.exit(2);
}
const request = JSON.parse(readFileSync(requestPath, "utf8"));
const llama = await getLlama({gpu: false, build: "never", maxThreads: 1, logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath, gpuLayers: 0, useMmap: true});
// "trimLeadingSpace" off, special tokens parsed as the GGUF's tokenizer defines them; no BOS added
const tokens = request.texts.map(t => Array.from(model.tokenize(t, true)));
const greedy = [];
if (request.generate > 0) {
    const context = await model.createContext({contextSize: request.prompt.length + request.generate + 8,
        batchSize: request.prompt.length, threads: 1, sequences: 1});
    const sequence = context.getSequence();
    for await (const token of sequence.evaluate(request.prompt, {temperature: 0})) {
        greedy.push(token);
        if (greedy.length >= request.generate) break;
    }
    await context.dispose();
}
console.log(JSON.stringify({tokens, greedy}));
await model.dispose();
await llama.dispose();
