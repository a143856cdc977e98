package io.tessera.core.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.kernel.Kernels;
import io.tessera.core.kernel.NativeKernels;
import io.tessera.core.kernel.VectorMath;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The native attention kernels over a paged KV cache against AttentionBlock's Java loops (the same
 * bits: VectorMath.dot for the scores, VectorMath.axpy for the values) and against float64, for
 * F32, F16 and BF16 rows, head sizes with and without a tail, a sliding window and paged (shuffled)
 * slots; a token's result does not depend on the other tokens of its unit; bad units are refused in
 * Java; cache types without a native reader stay on Java.
 */
class NativeAttentionTest {

    private static final int BLOCK = 4;
    private static final int BLOCKS = 8;

    @ParameterizedTest(name = "{0} headDim={1}")
    @CsvSource({"F32, 64", "F16, 64", "BF16, 64", "F16, 13", "BF16, 5", "F32, 24"})
    void sameBitsAsJavaAndCloseToFloat64(KvCacheType type, int headDim) {
        NativeKernels nk = Kernels.best();
        assertNotNull(nk, () -> "native kernels unavailable: " + Kernels.unavailableReason());
        Random rnd = new Random(headDim * 31L + type.ordinal());
        int kvDim = 2 * headDim;
        try (PagedKvCache cache = new PagedKvCache(1, kvDim / headDim, headDim, type, BLOCKS, BLOCK)) {
            int[] slots = filled(cache, rnd);
            int kvOff = headDim; // the second KV head
            int len = 23;
            int seen = 2;
            int heads = 3;
            // three tokens at the end of the sequence; the first sees all, the others through windows
            int[] pos = {20, 21, 22};
            int[] lo = {seen, 9, 15};
            int qDim = heads * headDim + 5; // a token's heads start 5 floats in
            float[] q = gaussian(rnd, pos.length * qDim);
            int[] offsets = {5, qDim + 5, 2 * qDim + 5};
            float scale = 0.125f;
            int[] unitSlots = Arrays.copyOfRange(slots, seen, len);

            float[] scores = new float[pos.length * heads * len];
            NativeKernels.KvRows keys = cache.nativeRows(0, true, kvOff, headDim, unitSlots, seen, len);
            NativeKernels.KvRows values = cache.nativeRows(0, false, kvOff, headDim, unitSlots, seen, len);
            nk.attentionScores(keys, q, offsets, lo, pos, pos.length, heads, scale, scores);
            float[] javaScores = new float[scores.length];
            float[] row = new float[headDim];
            for (int j = seen; j < len; j++) {
                cache.readKey(0, slots[j], kvOff, row, 0, headDim);
                for (int u = 0; u < pos.length; u++) {
                    if (j < lo[u] || j > pos[u]) {
                        continue;
                    }
                    for (int h = 0; h < heads; h++) {
                        int at = (u * heads + h) * len + j;
                        javaScores[at] = VectorMath.dot(row, 0, q, offsets[u] + h * headDim, headDim) * scale;
                        double exact = 0;
                        double bound = 0;
                        for (int i = 0; i < headDim; i++) {
                            double p = (double) cache.key(0, slots[j], kvOff + i) * q[offsets[u] + h * headDim + i];
                            exact += p;
                            bound += Math.abs(p);
                        }
                        exact *= scale;
                        assertTrue(Math.abs(scores[at] - exact) <= 1e-5 * bound * scale + 1e-6,
                                type + " score " + at + ": " + scores[at] + " vs " + exact);
                    }
                }
            }
            assertArrayEquals(javaScores, scores, type + " scores");

            // the values, weighted by the scores as they are (softmax runs in Java between the two calls)
            float[] out = new float[q.length];
            nk.attentionValues(values, scores, offsets, lo, pos, pos.length, heads, out);
            float[] javaOut = new float[q.length];
            double[] exactOut = new double[q.length];
            for (int j = seen; j < len; j++) {
                cache.readValue(0, slots[j], kvOff, row, 0, headDim);
                for (int u = 0; u < pos.length; u++) {
                    if (j < lo[u] || j > pos[u]) {
                        continue;
                    }
                    for (int h = 0; h < heads; h++) {
                        float p = scores[(u * heads + h) * len + j];
                        VectorMath.axpy(javaOut, offsets[u] + h * headDim, p, row, 0, headDim);
                        for (int i = 0; i < headDim; i++) {
                            exactOut[offsets[u] + h * headDim + i] += (double) p * cache.value(0, slots[j], kvOff + i);
                        }
                    }
                }
            }
            assertArrayEquals(javaOut, out, type + " values");
            for (int i = 0; i < out.length; i++) {
                assertTrue(Math.abs(out[i] - exactOut[i]) <= 1e-4 * (1 + Math.abs(exactOut[i])), "value " + i);
            }

            // each token alone gives its bits in the unit of three
            for (int u = 0; u < pos.length; u++) {
                float[] alone = new float[heads * len];
                nk.attentionScores(keys, q, new int[] {offsets[u]}, new int[] {lo[u]}, new int[] {pos[u]}, 1, heads,
                        scale, alone);
                assertArrayEquals(Arrays.copyOfRange(scores, u * heads * len, (u + 1) * heads * len), alone,
                        "token " + u + " alone");
            }
        }
    }

    /** Every size, slot and offset is checked in Java: a bad unit throws and never reaches native code. */
    @Test
    void badUnitsAreRefusedBeforeTheNativeCall() {
        NativeKernels nk = Kernels.best();
        assertNotNull(nk);
        int headDim = 16;
        try (PagedKvCache cache = new PagedKvCache(1, 2, headDim, KvCacheType.F16, BLOCKS, BLOCK)) {
            int[] slots = {0, 1, 2, 3};
            NativeKernels.KvRows ok = cache.nativeRows(0, true, headDim, headDim, slots, 0, 4);
            float[] q = new float[2 * headDim];
            float[] scores = new float[2 * 4];
            int[] off = {0};
            int[] lo = {0};
            int[] hi = {3};
            nk.attentionScores(ok, q, off, lo, hi, 1, 2, 1f, scores);
            int capacity = BLOCKS * BLOCK;
            assertThrows(IllegalArgumentException.class, () -> nk.attentionScores(
                    cache.nativeRows(0, true, headDim, headDim, new int[] {0, capacity, 2, 3}, 0, 4), q, off, lo, hi, 1, 2,
                    1f, scores), "slot past the cache");
            assertThrows(IllegalArgumentException.class, () -> nk.attentionScores(
                    cache.nativeRows(0, true, headDim, headDim, new int[] {0, -1, 2, 3}, 0, 4), q, off, lo, hi, 1, 2,
                    1f, scores), "negative slot");
            assertThrows(IllegalArgumentException.class, () -> nk.attentionScores(
                    cache.nativeRows(0, true, headDim + 1, headDim, slots, 0, 4), q, off, lo, hi, 1, 2, 1f, scores),
                    "head past the row");
            assertThrows(IllegalArgumentException.class, () -> nk.attentionScores(
                    cache.nativeRows(0, true, headDim, headDim, slots, 0, 5), q, off, lo, hi, 1, 2, 1f, scores),
                    "fewer slots than positions");
            assertThrows(IllegalArgumentException.class, () -> nk.attentionScores(ok, q, off, lo, hi, 1, 2, 1f,
                    new float[7]), "scores too small");
            assertThrows(IllegalArgumentException.class, () -> nk.attentionScores(ok, q, new int[] {1}, lo, hi, 1, 2, 1f,
                    scores), "query heads past the array");
            assertThrows(IllegalArgumentException.class, () -> nk.attentionScores(ok, q, off, lo, new int[] {4}, 1, 2,
                    1f, scores), "a token sees past the cached positions");
            assertThrows(IllegalArgumentException.class, () -> nk.attentionValues(ok, scores, off, lo, hi, 2, 2,
                    new float[64]), "more tokens than offsets");
            assertThrows(IllegalArgumentException.class, () -> nk.attentionValues(ok, scores, off, lo, hi, 1, 2,
                    new float[2 * headDim - 1]), "output heads past the array");
        }
    }

    /** A cache type without a native reader (q8_0, int8, fp8) stays on the Java path. */
    @ParameterizedTest
    @EnumSource(value = KvCacheType.class, names = {"Q8_0", "INT8", "FP8_E4M3", "FP8_E5M2"})
    void otherCacheTypesHaveNoNativeRows(KvCacheType type) {
        try (PagedKvCache cache = new PagedKvCache(1, 2, 32, type, BLOCKS, BLOCK)) {
            assertNull(cache.nativeRows(0, true, 32, 32, new int[] {0}, 0, 1));
        }
    }

    /** Every slot written with random keys and values; position j of the test sequence at slot slots[j], shuffled. */
    private static int[] filled(PagedKvCache cache, Random rnd) {
        int kvDim = cache.kvDim();
        List<Integer> order = new ArrayList<>();
        for (int s = 0; s < BLOCKS * BLOCK; s++) {
            cache.store(0, s, gaussian(rnd, kvDim), 0, gaussian(rnd, kvDim), 0);
            order.add(s);
        }
        Collections.shuffle(order, rnd);
        return order.stream().mapToInt(Integer::intValue).toArray();
    }

    private static float[] gaussian(Random rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }
}
