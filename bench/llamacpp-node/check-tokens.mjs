// llama.cpp's tokenizer on a GGUF file, for Tessera's conversion check (HfConversionLlamaCppTest):
// loads the file through node-llama-cpp's prebuilt CPU binaries and tokenizes each text, special
// tokens parsed as the file's tokenizer defines them, no BOS added. Prints one JSON object.
// (Logits and greedy continuations come from logits.mjs.)
// usage: node check-tokens.mjs MODEL.gguf REQUEST.json
//   REQUEST: {"texts": ["..."]}    output: {"tokens": [[ids...] per text]}
import {getLlama, LlamaLogLevel} from "node-llama-cpp";
import {readFileSync} from "node:fs";

const [modelPath, requestPath] = process.argv.slice(2);
if (!modelPath || !requestPath) {
    console.error("usage: node check-tokens.mjs MODEL.gguf REQUEST.json");
    process.exit(2);
}
const request = JSON.parse(readFileSync(requestPath, "utf8"));
const llama = await getLlama({gpu: false, build: "never", maxThreads: 1, logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath, gpuLayers: 0, useMmap: true, vocabOnly: true});
const tokens = request.texts.map(t => Array.from(model.tokenize(t, true)));
console.log(JSON.stringify({tokens}));
await model.dispose();
await llama.dispose();
