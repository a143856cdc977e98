package io.tessera.bench;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.LogFormat;

/**
 * The older llama.cpp (b4916, AVX2 build, as packaged in the {@code de.kherud:llama} Maven artifact)
 * on a GGUF file, measured like {@code tessera bench offline}: the time to the first token of a
 * prompt of about N tokens, and decode tokens/s of M generated tokens (greedy, EOS ignored), best
 * of R runs after a warm-up. Prints one JSON object.
 *
 * <p>usage: {@code java -cp tessera-bench.jar io.tessera.bench.KherudLlamaBench MODEL THREADS N M [R]}
 */
public final class KherudLlamaBench {

    private KherudLlamaBench() {
    }

    public static void main(String[] args) {
        if (args.length < 4) {
            System.err.println("usage: KherudLlamaBench MODEL.gguf THREADS PROMPT_TOKENS GEN_TOKENS [REPEAT]");
            System.exit(2);
        }
        String path = args[0];
        int threads = Integer.parseInt(args[1]);
        int promptN = Integer.parseInt(args[2]);
        int genN = Integer.parseInt(args[3]);
        int repeat = args.length > 4 ? Integer.parseInt(args[4]) : 2;
        int vocab;
        try (io.tessera.core.model.LoadedModel m = io.tessera.core.model.LoadedModel.open(java.nio.file.Path.of(path),
                null)) {
            vocab = m.model().config().vocabSize();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        LlamaModel.setLogger(LogFormat.TEXT, (level, msg) -> { });
        long t0 = System.nanoTime();
        ModelParameters mp = new ModelParameters().setModel(path).setThreads(threads).setThreadsBatch(threads)
                .setGpuLayers(0).setCtxSize(promptN + genN + 64).setBatchSize(Math.max(promptN + 8, 512))
                .setUbatchSize(Math.max(promptN + 8, 512));
        try (LlamaModel model = new LlamaModel(mp)) {
            double loadSeconds = (System.nanoTime() - t0) / 1e9;
            String prompt = promptOf(model, vocab, promptN, 0);
            int promptTokens = model.encode(prompt).length;
            run(model, promptOf(model, vocab, Math.min(promptN, 32), 99), 4); // warm-up
            double bestPrefill = Double.MAX_VALUE;
            double bestDecode = Double.MAX_VALUE;
            for (int r = 0; r < repeat; r++) {
                double[] t = run(model, promptOf(model, vocab, promptN, r + 1), genN);
                bestPrefill = Math.min(bestPrefill, t[0]);
                bestDecode = Math.min(bestDecode, t[1]);
            }
            String json = String.format("{\"engine\":\"llama.cpp b4916 via de.kherud:llama 4.2.0\",\"threads\":%d,"
                            + "\"load_seconds\":%.3f,\"prompt_tokens\":%d,\"prefill_tokens_per_s\":%.3f,"
                            + "\"decode_tokens_per_s\":%.3f}%n",
                    threads, loadSeconds, promptTokens, promptTokens / bestPrefill, (genN - 1) / bestDecode);
            // the native library logs to standard output; the result goes to a file when asked
            String out = System.getProperty("out");
            if (out != null) {
                try {
                    java.nio.file.Files.writeString(java.nio.file.Path.of(out), json);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            } else {
                System.out.println(json);
            }
            System.out.flush();
            // the library's server thread keeps the JVM (and closing the model) waiting: stop here
            Runtime.getRuntime().halt(0);
        }
    }

    /** A prompt text of about n tokens: decoded token ids, re-encoded (the count is reported, not assumed). */
    private static String promptOf(LlamaModel model, int vocab, int n, int seed) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = 3 + (i * 7919 + seed * 104729) % (vocab - 3);
        }
        String text = model.decode(ids);
        for (int attempt = 0; attempt < 4; attempt++) {
            int[] back = model.encode(text);
            if (back.length <= n) {
                break;
            }
            text = model.decode(java.util.Arrays.copyOf(back, n - (back.length - n) / 2));
        }
        return text;
    }

    /** {seconds to the first token, seconds for the rest}. */
    private static double[] run(LlamaModel model, String prompt, int gen) {
        InferenceParameters p = new InferenceParameters(prompt).setNPredict(gen).setTemperature(0f)
                .setIgnoreEos(true).setCachePrompt(false).setSeed(1);
        long start = System.nanoTime();
        long first = 0;
        int count = 0;
        for (LlamaOutput ignored : model.generate(p)) {
            if (count++ == 0) {
                first = System.nanoTime();
            }
        }
        long end = System.nanoTime();
        return new double[] {(first - start) / 1e9, (end - first) / 1e9};
    }
}
