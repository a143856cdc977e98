package io.tessera.core.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Symmetric int8 rounding with one scale per row, the weights of {@code GgmlType.W8A8} (SmoothQuant,
 * compressed-tensors' int8 channel scheme): {@code scale = max|x| / 127}, {@code q = rint(x / scale)},
 * so q lies in [-127, 127] and -128 is never produced. A row of zeros has scale 0 and codes 0.
 */
public final class Int8Rows {

    /** The largest code. */
    public static final int MAX_CODE = 127;

    private Int8Rows() {
    }

    /** The scale of a row whose largest magnitude is {@code max}; refuses a row that is not finite. */
    public static float scaleFor(float max) {
        if (!(max <= Float.MAX_VALUE)) {
            throw new IllegalArgumentException("a row holding " + max + " cannot be stored as int8");
        }
        return max / MAX_CODE;
    }

    /** The largest magnitude of {@code src[off .. off + n)}. */
    public static float absMax(float[] src, int off, int n) {
        float max = 0;
        for (int i = 0; i < n; i++) {
            float a = Math.abs(src[off + i]);
            max = a > max || Float.isNaN(a) ? a : max;
        }
        return max;
    }

    /** {@code x / scale} rounded to the nearest code (ties to even), clamped to ±127; 0 when the scale is 0. */
    public static byte code(float x, float scale) {
        if (scale == 0) {
            return 0;
        }
        float q = (float) Math.rint(x / scale);
        return (byte) Math.max(-MAX_CODE, Math.min(MAX_CODE, q));
    }

    /**
     * Rounds {@code src[off .. off + n)} into n bytes at {@code dst[dstOff..]} with its own scale, and
     * returns that scale.
     */
    public static float quantizeRow(float[] src, int off, int n, MemorySegment dst, long dstOff) {
        float scale = scaleFor(absMax(src, off, n));
        for (int i = 0; i < n; i++) {
            dst.set(ValueLayout.JAVA_BYTE, dstOff + i, code(src[off + i], scale));
        }
        return scale;
    }
}
