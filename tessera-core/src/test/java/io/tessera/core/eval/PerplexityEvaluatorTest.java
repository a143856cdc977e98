package io.tessera.core.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.TestModels;
import io.tessera.core.arch.ReferenceDecoder;
import io.tessera.core.forward.DecoderForward;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.Stories260K;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Perplexity and KL divergence on stories260K against a double-precision reference computed from its own logits. */
class PerplexityEvaluatorTest {

    private static LoadedModel stories;
    private static Parallel parallel;
    private static int[] tokens;

    @TempDir
    Path dir;

    @BeforeAll
    static void open() throws IOException {
        stories = LoadedModel.open(TestModels.stories260K(), TestModels.tok512());
        parallel = new Parallel(2);
        String text = Files.readString(TestModels.repoRoot().resolve("tessera-bench/eval/tinystories-style.txt"));
        tokens = stories.tokenizer().encode(text, true);
    }

    @AfterAll
    static void close() {
        parallel.close();
        stories.close();
    }

    /** Each window through the double-precision reference decoder, NLL summed in double. */
    private static double referenceMeanNll(int[] text, int ctx, int stride) {
        PerplexityWindows w = new PerplexityWindows(text.length, ctx, stride);
        ReferenceDecoder reference = new ReferenceDecoder(stories.model());
        double sum = 0;
        long n = 0;
        for (int k = 0; k < w.count(); k++) {
            int[] window = Arrays.copyOfRange(text, k * stride, k * stride + ctx);
            window[0] = stories.tokenizer().bos();
            double[][] logits = reference.logits(window);
            for (int p = w.firstScored(); p < ctx; p++) {
                double[] row = logits[p - 1];
                double max = Arrays.stream(row).max().orElseThrow();
                double z = 0;
                for (double v : row) {
                    z += Math.exp(v - max);
                }
                sum += max + Math.log(z) - row[window[p]];
                n++;
            }
        }
        assertEquals(w.scoredTotal(), n);
        return sum / n;
    }

    private static PerplexityResult evaluate(LoadedModel model, LoadedModel base, KvCacheType kv, int ctx, int stride,
            int batchTokens) {
        return new PerplexityEvaluator(new DecoderForward(model.model(), parallel),
                base == null ? null : new DecoderForward(base.model(), parallel), kv, batchTokens)
                .evaluate(tokens, stories.tokenizer().bos(), ctx, stride, null);
    }

    @Test
    void perplexityMatchesTheDoublePrecisionReference() {
        int[] text = Arrays.copyOf(tokens, 300);
        for (int[] ctxStride : new int[][] {{64, 64}, {64, 20}}) {
            int ctx = ctxStride[0];
            int stride = ctxStride[1];
            double expected = referenceMeanNll(text, ctx, stride);
            PerplexityResult r = new PerplexityEvaluator(new DecoderForward(stories.model(), parallel), null,
                    KvCacheType.F32, 150).evaluate(text, stories.tokenizer().bos(), ctx, stride, null);
            assertEquals(new PerplexityWindows(300, ctx, stride).scoredTotal(), r.scoredTokens());
            assertEquals(expected, r.meanNll(), 1e-4, "ctx " + ctx + " stride " + stride);
            assertEquals(Math.exp(expected), r.perplexity(), 1e-4 * Math.exp(expected));
            assertTrue(r.perplexityError() > 0 && r.perplexityError() < r.perplexity());
        }
    }

    @Test
    void batchingWindowsTogetherChangesNothing() {
        PerplexityResult oneByOne = evaluate(stories, null, KvCacheType.F32, 128, 128, 1);
        PerplexityResult together = evaluate(stories, null, KvCacheType.F32, 128, 128, 4096);
        assertEquals(oneByOne.meanNll(), together.meanNll(), 0.0);
        assertEquals(oneByOne.top1Accuracy(), together.top1Accuracy(), 0.0);
    }

    @Test
    void aModelAgainstItselfHasNoDivergence() throws IOException {
        try (LoadedModel same = LoadedModel.open(TestModels.stories260K(), TestModels.tok512())) {
            PerplexityResult r = evaluate(stories, same, KvCacheType.F32, 128, 128, 512);
            assertEquals(0.0, r.kl().klMax(), 0.0);
            assertEquals(0.0, r.kl().klMean(), 0.0);
            assertEquals(1.0, r.kl().sameTopRate(), 0.0);
            assertEquals(r.meanNll(), r.kl().baseMeanNll(), 0.0);
        }
    }

    @Test
    void aBf16CacheDivergesALittleFromTheF32One() throws IOException {
        try (LoadedModel same = LoadedModel.open(TestModels.stories260K(), TestModels.tok512())) {
            PerplexityResult r = evaluate(stories, same, KvCacheType.BF16, 128, 128, 512);
            assertTrue(r.kl().klMean() > 0 && r.kl().klMean() < 1e-2, "KL " + r.kl().klMean());
            assertTrue(r.kl().klP99() <= r.kl().klMax());
            assertTrue(r.kl().sameTopRate() > 0.95, "same top " + r.kl().sameTopRate());
        }
    }

    @Test
    void theF32GgufConversionHasTheLlama2cFilesPerplexity() throws IOException {
        Path gguf = Stories260K.convert(dir, "F32");
        try (LoadedModel converted = LoadedModel.open(gguf, null)) {
            assertArrayEquals(tokens, converted.tokenizer().encode(
                    Files.readString(TestModels.repoRoot().resolve("tessera-bench/eval/tinystories-style.txt")), true));
            PerplexityResult original = evaluate(stories, null, KvCacheType.F32, 256, 256, 2048);
            PerplexityResult fromGguf = evaluate(converted, stories, KvCacheType.F32, 256, 256, 2048);
            assertEquals(original.meanNll(), fromGguf.meanNll(), 0.0);
            assertEquals(0.0, fromGguf.kl().klMax(), 0.0);
        }
    }

    @Test
    void windowsFollowLlamaCppAndOverlappingOnesScoreEachTokenOnce() {
        PerplexityWindows chunks = new PerplexityWindows(1000, 256, 256);
        assertEquals(3, chunks.count());
        assertEquals(129, chunks.firstScored(), "llama.cpp scores positions ctx/2+1 .. ctx-1");
        assertEquals(127, chunks.scoredPerWindow());
        PerplexityWindows sliding = new PerplexityWindows(1000, 256, 100);
        for (int k = 0; k + 1 < sliding.count(); k++) {
            int lastOfThis = sliding.start(k) + 255;
            int firstOfNext = sliding.start(k + 1) + sliding.firstScored();
            assertEquals(lastOfThis + 1, firstOfNext, "scored runs are contiguous");
        }
    }

    @Test
    void badWindowsAndMismatchedModelsAreRefusedByName() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new PerplexityWindows(100, 256, 256))
                .getMessage().contains("--ctx"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new PerplexityWindows(1000, 256, 0))
                .getMessage().contains("--stride"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new PerplexityWindows(1000, 2, 2))
                .getMessage().contains("--ctx"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> evaluate(stories, null, KvCacheType.F32, 1024, 1024, 2048)).getMessage()
                .contains("context length"));
    }

    private static void assertArrayEquals(int[] expected, int[] actual) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, actual);
    }
}
