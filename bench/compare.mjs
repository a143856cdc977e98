// Orchestrates bench/compare.sh: runs each engine on each model, one after the other in this run,
// and prints their numbers and Tessera's ratios to each as a Markdown table. With --rounds N the
// three engines take turns N times per model, and each ratio is the median of the N same-round
// ratios (with their range): on a shared machine whose speed drifts by tens of percent within
// minutes, engines measured minutes apart are not comparable, engines measured back to back are.
import {spawnSync} from "node:child_process";
import {mkdtempSync, readFileSync, writeFileSync, statSync} from "node:fs";
import {tmpdir, cpus} from "node:os";
import {join, basename} from "node:path";

const args = process.argv.slice(2);
const opt = {threads: String(cpus().length), "input-len": "128", "output-len": "128", batch: "1,8,32", repeat: "2", rounds: "1",
    engines: "tessera,llamacpp,llamacpp_b4916", kernels: "auto"};
const models = [];
let jsonOut = null;
const oldNames = {"--prompt-tokens": "--input-len", "--gen-tokens": "--output-len"};  // the names before 2026-12
for (let i = 0; i < args.length; i++) {
    const a = oldNames[args[i]] ?? args[i];
    if (a === "--json") jsonOut = args[++i];
    else if (a.startsWith("--") && a.slice(2) in opt) opt[a.slice(2)] = args[++i];
    else if (a.startsWith("--")) { console.error("unknown option " + a); process.exit(2); }
    else models.push(a);
}
if (models.length === 0) {
    console.error("usage: bench/compare.sh [--threads N] [--input-len N] [--output-len N] [--batch 1,8,32] [--repeat N] [--rounds N]"
        + " [--engines tessera,llamacpp,llamacpp_b4916] [--kernels auto|native|java[,...]] [--json FILE] MODEL.gguf...");
    process.exit(2);
}
// llamacpp_b4916 predates Qwen 3 (and others): leaving it out saves its failed runs' time
const engines = new Set(opt.engines.split(",").map(e => e.trim()));
for (const e of engines) {
    if (!["tessera", "llamacpp", "llamacpp_b4916"].includes(e)) { console.error("unknown engine " + e); process.exit(2); }
}
const root = process.env.TESSERA_ROOT, benchJar = process.env.TESSERA_BENCH_JAR, java = process.env.TESSERA_JAVA;
const jvm = ["--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"];

function run(label, cmd, argv, outFile) {
    console.error(`compare: ${label} ...`);
    const r = spawnSync(cmd, argv, {encoding: "utf8", maxBuffer: 1 << 26, stdio: ["ignore", "pipe", "pipe"]});
    const text = outFile ? (() => { try { return readFileSync(outFile, "utf8"); } catch { return ""; } })() : r.stdout;
    const line = text.split("\n").reverse().find(l => l.trim().startsWith("{"));
    if (r.status !== 0 || !line) {
        console.error(`compare: ${label} failed (exit ${r.status})\n${(r.stderr || "").split("\n").slice(-15).join("\n")}`);
        return null;
    }
    return JSON.parse(line);
}

const tmp = mkdtempSync(join(tmpdir(), "tessera-compare-"));
const machine = run("memory bandwidth and FMA peak", java, [...jvm, "-cp", benchJar, "io.tessera.bench.MemoryProbe", opt.threads, "1024"]);
const results = [];
const rounds = Math.max(1, parseInt(opt.rounds, 10) || 1);
// --kernels native,java runs Tessera once per choice each round: the first is "tessera", the others "tessera_<kernels>"
const kernels = opt.kernels.split(",");
const tesseraKey = k => k === kernels[0] ? "tessera" : "tessera_" + k;
for (const model of models) {
    const size = statSync(model).size;
    const runs = {llamacpp: [], llamacpp_b4916: []};
    kernels.forEach(k => runs[tesseraKey(k)] = []);
    for (let round = 1; round <= rounds; round++) {
        const of = rounds > 1 ? ` (round ${round} of ${rounds})` : "";
        for (const k of engines.has("tessera") ? kernels : []) {
            runs[tesseraKey(k)].push(run(`tessera --kernels ${k} on ${basename(model)}${of}`, join(root, "tessera"), ["bench", "offline", "--model", model,
                "--threads", opt.threads, "--input-len", opt["input-len"], "--output-len", opt["output-len"], "--batch", opt.batch,
                "--repeat", opt.repeat, "--kernels", k, "--json"]));
        }
        if (engines.has("llamacpp")) runs.llamacpp.push(run(`llama.cpp (node-llama-cpp) on ${basename(model)}${of}`, "node", [join(root, "bench/llamacpp-node/bench.mjs"), model, opt.threads,
            opt["input-len"], opt["output-len"], opt.repeat]));
        const kout = join(tmp, "kherud.json");
        if (engines.has("llamacpp_b4916")) runs.llamacpp_b4916.push(run(`llama.cpp b4916 (de.kherud:llama) on ${basename(model)}${of}`, java, [...jvm, `-Dout=${kout}`, "-cp", benchJar,
            "io.tessera.bench.KherudLlamaBench", model, opt.threads, opt["input-len"], opt["output-len"], opt.repeat], kout));
    }
    results.push({model, size, runs, ...Object.fromEntries(Object.keys(runs).map(key => [key, summary(runs[key])]))});
}

/** The median of the numbers present, or null. */
function median(values) {
    const v = values.filter(x => x != null && isFinite(x)).sort((a, b) => a - b);
    return v.length === 0 ? null : v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

/** One engine's rounds as one result: every number the median over the rounds that succeeded. */
function summary(list) {
    const ok = list.filter(e => e);
    if (ok.length === 0) return null;
    const out = {...ok[0]};
    for (const key of Object.keys(out)) {
        if (typeof out[key] === "number") out[key] = median(ok.map(e => e[key]));
    }
    for (const key of ["decode_tokens_per_s_by_batch", "decode_gflop_per_s_by_batch"]) {
        if (out[key]) {
            out[key] = Object.fromEntries(Object.keys(out[key]).map(b => [b, median(ok.map(e => e[key]?.[b]))]));
        }
    }
    return out;
}

const f = (v, d = 1) => v == null || !isFinite(v) ? "—" : v.toFixed(d);
const ratio = (a, b) => a == null || b == null ? "—" : (a / b).toFixed(2) + "×";
/** Tessera ÷ a reference for one metric: the median of the same-round ratios, and their range. */
function roundRatio(r, ref, key) {
    const each = r.runs.tessera.map((t, i) => t?.[key] != null && r.runs[ref][i]?.[key] ? t[key] / r.runs[ref][i][key] : null)
        .filter(v => v != null);
    const m = median(each);
    if (m == null) return "—";
    const lo = Math.min(...each), hi = Math.max(...each);
    return m.toFixed(2) + "×" + (each.length > 1 ? ` (${lo.toFixed(2)}-${hi.toFixed(2)})` : "");
}
console.log(`\nMachine: ${cpus()[0]?.model ?? "?"}, ${opt.threads} threads; read bandwidth ${f(machine?.read_gb_per_s)} GB/s, `
    + `float FMA peak ${f(machine?.fma_gflop_per_s)} GFLOP/s, 16-bit integer multiply-adds ${f(machine?.int16_gmac_per_s)} G/s `
    + `(measured now, bench MemoryProbe).`);
console.log(`llama.cpp CPU variant loaded by node-llama-cpp: ${results.find(r => r.llamacpp)?.llamacpp.cpu_variant ?? "?"}.`);
console.log(`Prompt ${opt["input-len"]} tokens, ${opt["output-len"]} generated; best of ${opt.repeat} per process`
    + (rounds > 1 ? `; ${rounds} rounds taken in turn, numbers are medians over the rounds, ratios the median (range) of same-round ratios.\n` : ".\n"));
// Prefill work is the same for every engine on the same file: each prompt token through every
// layer's matrix products, the output head once (Tessera's count, from the model's shape).
const prefillFlops = (r, e) => {
    const t = r.tessera;
    return t && e?.prefill_tokens_per_s ? e.prefill_tokens_per_s * (t.layer_flop_per_token + t.head_flop_per_token / t.prompt_tokens) : null;
};
console.log(`| model | size GB | engine | prefill tok/s | prefill GFLOP/s (% of float FMA peak) | decode tok/s (batch 1) | decode GB/s | % of bandwidth | Tessera (${kernels[0]}) ÷ this (prefill / decode) |`);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const r of results) {
    const gb = r.size / 1e9;
    const rows = [...kernels.map(k => [`Tessera (${r[tesseraKey(k)]?.kernels ?? k})`, tesseraKey(k), "tessera"]),
        ["llama.cpp (node-llama-cpp 3.22.1)", "llamacpp", "llamacpp"], ["llama.cpp b4916 (de.kherud:llama)", "llamacpp_b4916", "llamacpp_b4916"]];
    for (const [name, key, engine] of rows) {
        if (!engines.has(engine)) continue;
        const e = r[key];
        const d = e?.decode_tokens_per_s, p = e?.prefill_tokens_per_s;
        const cmp = key === "tessera" ? "" : `${roundRatio(r, key, "prefill_tokens_per_s")} / ${roundRatio(r, key, "decode_tokens_per_s")}`;
        const g = prefillFlops(r, e);
        const gp = g == null ? "—" : f(g / 1e9) + (machine ? ` (${f(100 * g / 1e9 / machine.fma_gflop_per_s, 0)}%)` : "");
        console.log(`| ${basename(r.model)} | ${f(gb, 2)} | ${name} | ${f(p)} | ${gp} | ${f(d)} | ${f(d == null ? null : d * gb)} | `
            + `${machine && d ? f(100 * d * gb / machine.read_gb_per_s, 0) + "%" : "—"} | ${cmp} |`);
    }
}
console.log("\n| model | Tessera decode tok/s by batch | batch-max GFLOP/s | batch-max ÷ prefill | peak RSS GB | ÷ (file + KV cache) | load s |");
console.log("| --- | --- | --- | --- | --- | --- | --- |");
for (const r of results) {
    const t = r.tessera;
    if (!t) continue;
    const by = t.decode_tokens_per_s_by_batch;
    const maxB = Math.max(...Object.keys(by).map(Number));
    console.log(`| ${basename(r.model)} | ${Object.entries(by).map(([b, v]) => `${b}: ${f(v)}`).join(", ")} | `
        + `${f(t.decode_gflop_per_s_by_batch?.[maxB])} | ${ratio(by[maxB], t.prefill_tokens_per_s)} | `
        + `${f(t.peak_rss_bytes / 1e9, 2)} | ${ratio(t.peak_rss_bytes, t.model_file_bytes + t.kv_cache_bytes)} | ${f(t.load_seconds, 2)} |`);
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({machine, options: opt, results}, null, 2));
