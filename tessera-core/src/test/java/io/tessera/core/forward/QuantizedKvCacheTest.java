package io.tessera.core.forward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.arch.Architectures;
import io.tessera.core.arch.ReferenceDecoder;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.model.RopeStyle;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.quant.Float8;
import io.tessera.core.synth.ModelShape;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.synth.SyntheticVocabulary;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The 8-bit KV cache types (int8, fp8_e4m3, fp8_e5m2, and q8_0 beside them) against float64
 * references: what the bytes decode to, how far a stored value may move, and the attention of a
 * whole forward pass over each.
 */
class QuantizedKvCacheTest {

    private static final int VOCAB = 320;

    @TempDir
    Path dir;

    /**
     * Every code of a head, widened by the vector path and one by one, is the code's exact value
     * times the head's scale rounded once to float: the float64 product of the two, rounded.
     */
    @ParameterizedTest
    @EnumSource(value = KvCacheType.class, names = {"INT8", "FP8_E4M3", "FP8_E5M2"})
    void everyCodeWidensToItsExactValueTimesTheScale(KvCacheType type) {
        int headDim = 256;
        float[] scales = type.scaleBytes() == 0 ? new float[] {1f} : new float[] {1f, 0.0137f, 3.7e-5f, 1234.5f};
        for (float scale : scales) {
            try (PagedKvCache cache = new PagedKvCache(1, 1, headDim, type, 1, 1)) {
                byte[] layer = new byte[(int) cache.blockLayerBytes()];
                ByteBuffer head = ByteBuffer.wrap(layer).order(ByteOrder.LITTLE_ENDIAN);
                if (type.scaleBytes() > 0) {
                    head.putFloat(scale);
                }
                for (int c = 0; c < 256; c++) {
                    head.put(finite(type, (byte) c) ? (byte) c : 0);
                }
                cache.writeBlockLayer(0, 0, layer, 0);
                float[] keys = new float[headDim];
                cache.readKey(0, 0, 0, keys, 0, headDim);
                for (int c = 0; c < 256; c++) {
                    byte code = finite(type, (byte) c) ? (byte) c : 0;
                    double exact = switch (type) {
                        case INT8 -> code;
                        case FP8_E4M3 -> Float8.e4m3ToFloat(code);
                        case FP8_E5M2 -> Float8.e5m2ToFloat(code);
                        default -> throw new AssertionError(type);
                    };
                    float want = (float) (exact * scale);
                    assertEquals(want, keys[c], type + " code " + c + " scale " + scale + " by vector");
                    assertEquals(want, cache.key(0, 0, c), type + " code " + c + " scale " + scale + " alone");
                }
            }
        }
    }

    /** Whether a code stands for a finite value: the encoders write no other. */
    private static boolean finite(KvCacheType type, byte code) {
        return switch (type) {
            case FP8_E4M3 -> !Float8.isE4m3NaN(code);
            case FP8_E5M2 -> (code & 0x7F) < 0x7C;
            default -> true;
        };
    }

    /**
     * Stored values stay within half a step of what was stored, the step measured in float64 from
     * the format's definition: int8 a 254th of the head's largest magnitude; fp8_e4m3 a relative
     * 2^-3 of the value, or 2^-9 of the scale below E4M3's normal range; fp8_e5m2 a relative 2^-2,
     * or 2^-16 below 2^-14; q8_0 a 254th of its 32-value block's largest, plus 127 times its float16
     * scale's rounding (a relative 2^-11, but 2^-25 where a block's largest is under about 2^-7 and
     * the scale is subnormal: the value rows here of about 10^-3 show it, and why int8 keeps a
     * float32 scale). Heads of 13 and 40 values take the tails of the vector loops.
     */
    @ParameterizedTest
    @EnumSource(value = KvCacheType.class, names = {"INT8", "FP8_E4M3", "FP8_E5M2", "Q8_0"})
    void storedValuesStayWithinHalfAStep(KvCacheType type) {
        Random rnd = new Random(type.ordinal());
        for (int headDim : new int[] {8, 13, 32, 40, 64, 128}) {
            if (!type.fitsHeadDim(headDim)) {
                continue;
            }
            int kvHeads = 3;
            int kvDim = kvHeads * headDim;
            float[] k = new float[kvDim];
            float[] v = new float[kvDim];
            for (int i = 0; i < kvDim; i++) {
                k[i] = (float) (rnd.nextGaussian() * 3);
                v[i] = (float) (rnd.nextGaussian() * 1e-3);
            }
            k[1] = 200; // an outlier coarsens its own head (or block) only
            v[kvDim - 1] = 1e-7f; // below fp8's normal ranges
            for (int i = headDim; i < 2 * headDim; i++) {
                k[i] = 0; // a head of zeros stays zeros
            }
            try (PagedKvCache cache = new PagedKvCache(2, kvHeads, headDim, type, 2, 4)) {
                assertEquals(2L * 2 * 2 * 4 * kvHeads * type.bytesPerHead(headDim), cache.byteSize());
                cache.store(1, 6, k, 0, v, 0);
                float[] keys = new float[kvDim];
                float[] values = new float[kvDim];
                cache.readKey(1, 6, 0, keys, 0, kvDim);
                for (int h = 0; h < kvHeads; h++) {
                    cache.readValue(1, 6, h * headDim, values, h * headDim, headDim);
                }
                for (int i = 0; i < kvDim; i++) {
                    assertEquals(cache.key(1, 6, i), keys[i], type + " key " + i + " by vector and alone");
                    assertEquals(cache.value(1, 6, i), values[i], type + " value " + i + " by vector and alone");
                    assertWithinHalfAStep(type, k, i, headDim, keys[i], "key");
                    assertWithinHalfAStep(type, v, i, headDim, values[i], "value");
                }
            }
        }
    }

    private static void assertWithinHalfAStep(KvCacheType type, float[] x, int i, int headDim, float got, String what) {
        int blockValues = type.blockValues(headDim);
        int from = i / blockValues * blockValues;
        double amax = 0;
        for (int j = from; j < from + blockValues; j++) {
            amax = Math.max(amax, Math.abs((double) x[j]));
        }
        double value = x[i];
        double bound = switch (type) {
            case INT8 -> amax / 254;
            case FP8_E4M3 -> Math.max(Math.abs(value) * 0x1p-4, amax / 448 * 0x1p-10);
            case FP8_E5M2 -> Math.max(Math.abs(value) * 0x1p-3, 0x1p-17);
            // its float16 scale rounds by a relative 2^-11, or by 2^-25 where it is subnormal
            case Q8_0 -> amax / 254 + 127 * Math.max(amax / 127 * 0x1p-11, 0x1p-25);
            default -> throw new AssertionError(type);
        };
        // the scale itself is a float: one more rounding of a relative 2^-24
        bound = bound * (1 + 0x1p-20) + Math.abs(value) * 0x1p-22;
        double error = Math.abs(got - value);
        assertTrue(error <= bound, type + " " + what + " " + i + ": stored " + value + ", read " + got + ", error "
                + error + " over half a step " + bound);
    }

    @Test
    void int8AndFp8TakeAnyHeadDimensionAndVllmsNames() {
        assertEquals(KvCacheType.FP8_E4M3, KvCacheType.parse("fp8"));
        assertEquals(KvCacheType.FP8_E4M3, KvCacheType.parse("FP8_E4M3"));
        assertEquals(KvCacheType.FP8_E5M2, KvCacheType.parse("fp8_e5m2"));
        assertEquals(KvCacheType.INT8, KvCacheType.parse(" int8 "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KvCacheType.parse("fp4"));
        assertTrue(e.getMessage().contains("unknown KV cache type 'fp4' (expected f32, f16, bf16, q8_0, int8, fp8"),
                e.getMessage());
        // heads of 8 (stories260K) and of 13: one float scale per head, one byte per value
        assertEquals(12, KvCacheType.INT8.bytesPerHead(8));
        assertEquals(17, KvCacheType.FP8_E4M3.bytesPerHead(13));
        assertEquals(13, KvCacheType.FP8_E5M2.bytesPerHead(13));
        assertEquals(132, KvCacheType.INT8.bytesPerHead(128));
        assertEquals(136, KvCacheType.Q8_0.bytesPerHead(128));
        assertEquals(256, KvCacheType.F16.bytesPerHead(128));
        try (PagedKvCache cache = new PagedKvCache(1, 2, 13, KvCacheType.INT8, 1, 1)) {
            float[] row = new float[13];
            e = assertThrows(IllegalArgumentException.class, () -> cache.readKey(0, 0, 4, row, 0, 4));
            assertTrue(e.getMessage().contains("read from the start of a block of 13 values within a head of 13; value "
                    + "4 of 2 heads is not one"), e.getMessage());
        }
    }

    /**
     * A whole forward pass over each cache type, at every position of a prompt, on heads of 40
     * values (vector loops with tails; q8_0 cannot hold them) and of 64:
     * <ul>
     * <li>against a heap float32 cache holding the very values the type stores (each read back
     *     alone, which the tests above tie to the float64 definition of the codes): attention reads
     *     the quantized rows exactly, so the logits agree to the F32 cache's own 1e-4 of a logit;
     * <li>against the float64 reference decoder, which keeps keys and values exact: within the
     *     largest logit times four of the format's relative half steps (int8 and q8_0 2^-8 of a
     *     head's or block's largest, fp8_e4m3 2^-4, fp8_e5m2 2^-3, f16 2^-11, bf16 2^-8), over the
     *     F32 cache's 1e-4. A score is a sum of many rounded products, whose errors partly cancel;
     *     four half steps leave room for the synthetic model's random weights, which amplify them.
     * </ul>
     */
    @ParameterizedTest
    @EnumSource(KvCacheType.class)
    void attentionOverEachTypeMatchesTheFloat64Reference(KvCacheType type) throws Exception {
        for (int headDim : new int[] {40, 64}) {
            if (!type.fitsHeadDim(headDim)) {
                continue;
            }
            ModelConfig config = Architectures.named("llama").configure(new ModelConfig("llama", 4 * headDim, 96, 2, 4,
                    2, headDim, VOCAB, 128, 10000f, RopeStyle.INTERLEAVED, 1e-5f));
            Path file = dir.resolve("kv-" + headDim + ".gguf");
            SyntheticModel.write(file, new ModelShape("kv-" + headDim, config, false),
                    SyntheticVocabulary.generate(VOCAB, 1), WeightTypes.parse("F32"), 11);
            int[] prompt = new Random(headDim).ints(40, 0, VOCAB).toArray();
            ForwardBatch batch = ForwardBatch.single(new int[] {2, 0, 1}, prompt, 0, ForwardBatch.Logits.ALL);
            try (Model m = ModelLoader.load(file); Parallel p = new Parallel(2);
                    PagedKvCache cache = new PagedKvCache(m.config(), type, 3, 16);
                    PagedKvCache rounding = new PagedKvCache(m.config(), type, 3, 16)) {
                DecoderForward forward = new DecoderForward(m, p);
                float[] got = forward.forward(batch, cache);
                float[] widened = forward.forward(batch, new StoredValues(rounding, new F32KvCache(m.config(), 3, 16)));
                double[][] want = new ReferenceDecoder(m).logits(prompt);
                double worst = 0;
                double worstWidened = 0;
                double largest = 0;
                for (int t = 0; t < prompt.length; t++) {
                    for (int v = 0; v < VOCAB; v++) {
                        largest = Math.max(largest, Math.abs(want[t][v]));
                        worst = Math.max(worst, Math.abs(want[t][v] - got[t * VOCAB + v]));
                        worstWidened = Math.max(worstWidened, Math.abs(widened[t * VOCAB + v] - got[t * VOCAB + v]));
                    }
                }
                assertTrue(worstWidened <= 1e-4 * Math.max(1, largest), type + " heads of " + headDim
                        + ": logits differ from those over its stored values as floats by " + worstWidened);
                double halfStep = switch (type) {
                    case F32 -> 0;
                    case F16 -> 0x1p-11;
                    case BF16, INT8, Q8_0 -> 0x1p-8;
                    case FP8_E4M3 -> 0x1p-4;
                    case FP8_E5M2 -> 0x1p-3;
                };
                double tolerance = (1e-4 + 4 * halfStep) * Math.max(1, largest);
                assertTrue(worst <= tolerance, type + " heads of " + headDim + ": logits differ by " + worst
                        + " (largest " + largest + ", tolerance " + tolerance + ")");
            }
        }
    }

    /**
     * A float32 cache that holds what a cache of another type stores: each row is stored in that
     * cache, read back value by value and kept as floats.
     */
    private record StoredValues(PagedKvCache rounding, F32KvCache floats) implements KvCache {

        @Override
        public int blockSize() {
            return floats.blockSize();
        }

        @Override
        public int numBlocks() {
            return floats.numBlocks();
        }

        @Override
        public int kvDim() {
            return floats.kvDim();
        }

        @Override
        public void store(int layer, int slot, float[] k, int kOffset, float[] v, int vOffset) {
            rounding.store(layer, slot, k, kOffset, v, vOffset);
            float[] keys = new float[kvDim()];
            float[] values = new float[kvDim()];
            for (int i = 0; i < kvDim(); i++) {
                keys[i] = rounding.key(layer, slot, i);
                values[i] = rounding.value(layer, slot, i);
            }
            floats.store(layer, slot, keys, 0, values, 0);
        }

        @Override
        public void readKey(int layer, int slot, int kvOffset, float[] dst, int dstOffset, int n) {
            floats.readKey(layer, slot, kvOffset, dst, dstOffset, n);
        }

        @Override
        public void readValue(int layer, int slot, int kvOffset, float[] dst, int dstOffset, int n) {
            floats.readValue(layer, slot, kvOffset, dst, dstOffset, n);
        }

        @Override
        public void copyBlock(int src, int dst) {
            rounding.copyBlock(src, dst);
            floats.copyBlock(src, dst);
        }
    }
}
