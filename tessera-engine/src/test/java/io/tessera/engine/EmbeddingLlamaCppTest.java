package io.tessera.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.crosscheck.LlamaCppNode;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.synth.ModelShape;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.synth.SyntheticVocabulary;
import io.tessera.engine.executor.LocalExecutor;
import io.tessera.engine.scheduler.SchedulerConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engine's embeddings against current llama.cpp's (node-llama-cpp, see {@link LlamaCppNode}) on
 * one synthetic GGUF file in F32: LAST pooling against llama.cpp's embedding of the input (its
 * final hidden state after the output norm), MEAN pooling against the mean of llama.cpp's
 * embeddings of every prefix of the input (in a causal model, position i's hidden state is the last
 * one of the prefix ending at i, which is what LLAMA_POOLING_TYPE_MEAN averages). Both are
 * compared at unit length, as the server returns them.
 */
class EmbeddingLlamaCppTest {

    private static final long SEED = 23;
    /*
     * Measured with node-llama-cpp 3.22.1 (F32 tiny-gqa, 20-token input, llama.cpp with an F32 KV
     * cache): max |difference| of the unit vectors 1.7e-7 for LAST, 6.3e-8 for MEAN: float rounding
     * in another order (with llama.cpp's default F16 cache it was 2.9e-4). A wrong norm, position or
     * pooling moves components by more than 1e-2. The bound is about 20 times the measurement.
     */
    private static final double TOLERANCE = 3e-6;

    @TempDir
    Path dir;

    @Test
    void lastAndMeanPoolingAgreeWithLlamaCpp() throws Exception {
        LlamaCppNode llamaCpp = LlamaCppNode.install();
        Path gguf = dir.resolve("tiny-gqa-F32.gguf");
        SyntheticModel.write(gguf, ModelShape.named("tiny-gqa"), SyntheticVocabulary.generate(512, SEED),
                WeightTypes.parse("F32"), SEED);
        try (LoadedModel loaded = LoadedModel.open(gguf, null); Parallel parallel = new Parallel(2)) {
            int bos = loaded.tokenizer().bos();
            Random rnd = new Random(SEED);
            int[] input = new int[20];
            input[0] = bos;
            for (int i = 1; i < input.length; i++) {
                input[i] = 3 + rnd.nextInt(loaded.model().config().vocabSize() - 3);
            }
            List<int[]> prefixes = new ArrayList<>();
            for (int n = 1; n <= input.length; n++) {
                prefixes.add(Arrays.copyOf(input, n));
            }
            float[][] theirs = llamaCpp.embeddings(gguf, prefixes, 1);
            float[] theirLast = theirs[theirs.length - 1];
            float[] theirMean = new float[theirLast.length];
            for (int i = 0; i < theirMean.length; i++) {
                double sum = 0;
                for (float[] v : theirs) {
                    sum += v[i];
                }
                theirMean[i] = (float) (sum / theirs.length);
            }
            float[] ourLast;
            float[] ourMean;
            try (LocalExecutor executor = new LocalExecutor(loaded.model(), parallel, KvCacheType.F32, 16, 16)) {
                EngineCore core = new EngineCore(executor, new EngineConfig(SchedulerConfig.defaults(), true,
                        loaded.eosTokenIds()), null);
                CompletableFuture<Embedding> last = new CompletableFuture<>();
                CompletableFuture<Embedding> mean = new CompletableFuture<>();
                core.addEmbedding(new EmbeddingRequest("last", input, Pooling.LAST), last);
                core.addEmbedding(new EmbeddingRequest("mean", input, Pooling.MEAN), mean);
                for (int i = 0; i < 100 && core.hasWork(); i++) {
                    core.step();
                }
                ourLast = last.get(0, TimeUnit.SECONDS).vector();
                ourMean = mean.get(0, TimeUnit.SECONDS).vector();
            }
            assertClose("LAST", unit(theirLast), unit(ourLast));
            assertClose("MEAN", unit(theirMean), unit(ourMean));
        }
    }

    private static void assertClose(String what, float[] theirs, float[] ours) {
        assertEquals(theirs.length, ours.length, what + ": embedding size");
        double worst = 0;
        for (int i = 0; i < ours.length; i++) {
            worst = Math.max(worst, Math.abs(theirs[i] - ours[i]));
        }
        System.err.printf("%s pooling: max |Tessera - llama.cpp| of the unit vectors %.3g%n", what, worst);
        assertTrue(worst < TOLERANCE, what + ": the unit vectors differ by up to " + worst);
    }

    private static float[] unit(float[] v) {
        double sq = 0;
        for (float x : v) {
            sq += (double) x * x;
        }
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) (v[i] / Math.sqrt(sq));
        }
        return out;
    }
}
