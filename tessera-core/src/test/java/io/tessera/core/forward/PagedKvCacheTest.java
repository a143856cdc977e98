package io.tessera.core.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.TestModels;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Llama2cLoader;
import io.tessera.core.model.Model;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PagedKvCacheTest {

    @Test
    void storesAndReadsBackInEachPrecision() {
        Random rnd = new Random(1);
        float[] k = new float[32];
        float[] v = new float[32];
        for (int i = 0; i < 32; i++) {
            k[i] = (float) rnd.nextGaussian();
            v[i] = (float) rnd.nextGaussian();
        }
        for (KvCacheType type : KvCacheType.values()) {
            if (type.blockValues(32) > 1) {
                continue; // reads start on block boundaries: see QuantizedKvCacheTest
            }
            try (PagedKvCache cache = new PagedKvCache(2, 1, 32, type, 4, 8)) {
                cache.store(1, 13, k, 0, v, 0);
                double tol = switch (type) {
                    case F32 -> 0;
                    case F16 -> 2e-3;
                    case BF16 -> 1e-2;
                    case FP8_E5M2 -> 0.125; // half of E5M2's relative step of 2^-2
                    case Q8_0, INT8, FP8_E4M3 -> throw new AssertionError(type);
                };
                for (int i = 0; i < 32; i++) {
                    assertEquals(k[i], cache.key(1, 13, i), tol * Math.max(1, Math.abs(k[i])), type + " key " + i);
                    assertEquals(v[i], cache.value(1, 13, i), tol * Math.max(1, Math.abs(v[i])), type + " value " + i);
                }
                // rows widened eight values at a time and the tail one by one give the values' own floats:
                // an offset head of 13 values (eight in a vector, five one by one), and one of 16 after a gap
                float[] keys = new float[14];
                float[] values = new float[17];
                cache.readKey(1, 13, 3, keys, 1, 13);
                cache.readValue(1, 13, 16, values, 1, 16);
                for (int i = 0; i < 13; i++) {
                    assertEquals(cache.key(1, 13, 3 + i), keys[1 + i], type + " key with a tail " + i);
                }
                for (int i = 0; i < 16; i++) {
                    assertEquals(cache.value(1, 13, 16 + i), values[1 + i], type + " value " + i);
                }
                assertEquals(0f, keys[0]);
                assertEquals(0f, values[0]);
                // slot 13 is in block 1; copy it, in every layer, to block 3 (slot 29)
                cache.store(0, 13, v, 0, k, 0);
                cache.copyBlock(1, 3);
                for (int l = 0; l < 2; l++) {
                    for (int i = 0; i < 32; i++) {
                        assertEquals(cache.key(l, 13, i), cache.key(l, 29, i));
                        assertEquals(cache.value(l, 13, i), cache.value(l, 29, i));
                    }
                }
                assertEquals(2L * 2 * 4 * 8 * type.bytesPerHead(32), cache.byteSize());
                assertThrows(IllegalArgumentException.class, () -> cache.copyBlock(0, 4));
            }
        }
    }

    /**
     * A Q8_0 cache row holds exactly the bytes the Q8_0 weight encoder writes (llama.cpp's q8_0
     * cache), so each value is within half a step (amax/254) of what was stored; heads are read from
     * block boundaries, whole blocks by vector, a partial block value by value.
     */
    @Test
    void q8_0CacheHoldsWhatAQ8_0TensorWould() {
        Random rnd = new Random(7);
        float[] k = new float[64];
        float[] v = new float[64];
        for (int i = 0; i < 64; i++) {
            k[i] = (float) rnd.nextGaussian();
            v[i] = (float) rnd.nextGaussian() * 0.01f;
        }
        k[5] = 40; // an outlier coarsens its own block only
        float[] expectedK = new float[64];
        float[] expectedV = new float[64];
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            var codec = io.tessera.core.quant.QuantCodec.of(io.tessera.core.tensor.GgmlType.Q8_0);
            var seg = arena.allocate(68);
            codec.quantizeRow(k, 0, 64, seg, 0);
            codec.dequantizeRow(seg, 0, expectedK, 0, 64);
            codec.quantizeRow(v, 0, 64, seg, 0);
            codec.dequantizeRow(seg, 0, expectedV, 0, 64);
        }
        try (PagedKvCache cache = new PagedKvCache(2, 2, 32, KvCacheType.Q8_0, 4, 8)) {
            assertEquals(2L * 2 * 4 * 8 * 68, cache.byteSize(), "34 bytes per 32 values");
            cache.store(1, 13, k, 0, v, 0);
            for (int i = 0; i < 64; i++) {
                assertEquals(expectedK[i], cache.key(1, 13, i), "key " + i);
                assertEquals(expectedV[i], cache.value(1, 13, i), "value " + i);
                float stepK = (i < 32 ? 40f : maxAbs(k, 32, 64)) / 127;
                // half a step, plus the scale's own rounding to float16 (a relative 2^-11)
                assertEquals(k[i], cache.key(1, 13, i), stepK / 2 + Math.abs(k[i]) * 0x1p-11f,
                        "key " + i + " within half a step");
            }
            float[] head = new float[33];
            cache.readKey(1, 13, 32, head, 1, 32);
            float[] partial = new float[40];
            cache.readValue(1, 13, 0, partial, 0, 40);
            for (int i = 0; i < 32; i++) {
                assertEquals(expectedK[32 + i], head[1 + i], "second head's key " + i);
            }
            for (int i = 0; i < 40; i++) {
                assertEquals(expectedV[i], partial[i], "value " + i + " (whole block, then one by one)");
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cache.readKey(1, 13, 8, head, 0, 8));
            assertTrue(e.getMessage().contains("value 8 of 2 heads is not one"), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new PagedKvCache(1, 1, 48, KvCacheType.Q8_0, 1, 1));
        assertTrue(e.getMessage().contains("q8_0 KV cache needs a head dimension that is a multiple of 32; this "
                + "model's is 48"), e.getMessage());
        assertEquals(KvCacheType.Q8_0, KvCacheType.parse("q8_0"));
    }

    private static float maxAbs(float[] x, int from, int to) {
        float m = 0;
        for (int i = from; i < to; i++) {
            m = Math.max(m, Math.abs(x[i]));
        }
        return m;
    }

    /** stories260K's heads of 8 values cannot hold Q8_0 blocks: refused naming the head dimension. */
    @Test
    void q8_0CacheRefusesHeadsThatDoNotFillBlocks() throws Exception {
        try (Model model = Llama2cLoader.load(TestModels.stories260K())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new PagedKvCache(model.config(), KvCacheType.Q8_0, 8, 16));
            assertTrue(e.getMessage().contains("needs a head dimension that is a multiple of 32; this model's is 8"),
                    e.getMessage());
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals(1f, storedAsBf16(1f));
        assertEquals(Float.intBitsToFloat(0x3f810000), storedAsBf16(Float.intBitsToFloat(0x3f808001)));
        assertTrue(Float.isNaN(storedAsBf16(Float.NaN)));
    }

    /** A value written to a BF16 cache and read back. */
    private static float storedAsBf16(float x) {
        try (PagedKvCache cache = new PagedKvCache(1, 1, 8, KvCacheType.BF16, 1, 1)) {
            float[] v = new float[8];
            v[0] = x;
            cache.store(0, 0, v, 0, v, 0);
            return cache.key(0, 0, 0);
        }
    }

    @Test
    void offHeapF32CacheGivesTheSameLogitsAsTheHeapCache() throws Exception {
        try (Model model = Llama2cLoader.load(TestModels.stories260K());
                Parallel parallel = new Parallel(2);
                PagedKvCache paged = new PagedKvCache(model.config(), KvCacheType.F32, 8, 16)) {
            DecoderForward forward = new DecoderForward(model, parallel);
            KvCache heap = new F32KvCache(model.config(), 8, 16);
            int[] table = {5, 2, 7};
            int[] prompt = {1, 403, 407, 261, 378, 430, 422, 274, 261, 259, 21, 40, 277, 350, 258, 12, 1, 9, 30, 99};
            float[] a = forward.forward(ForwardBatch.single(table, prompt, 0, ForwardBatch.Logits.ALL), heap);
            float[] b = forward.forward(ForwardBatch.single(table, prompt, 0, ForwardBatch.Logits.ALL), paged);
            // Same arithmetic; compared to a tolerance because the JIT may compile the two runs'
            // Vector API reductions at different tiers in between.
            assertArrayEquals(a, b, 1e-4f);
            float[] c = forward.forward(ForwardBatch.single(table, new int[] {42}, prompt.length, ForwardBatch.Logits.LAST), heap);
            float[] d = forward.forward(ForwardBatch.single(table, new int[] {42}, prompt.length, ForwardBatch.Logits.LAST), paged);
            assertArrayEquals(c, d, 1e-4f);
        }
    }
}
