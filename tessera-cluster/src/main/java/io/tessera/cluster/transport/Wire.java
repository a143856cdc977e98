package io.tessera.cluster.transport;

import io.tessera.core.quant.BFloat16;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Locale;

/** Tensors on the wire: raw little-endian f32, or bf16 (the top 16 bits, rounded to nearest even). */
public enum Wire {
    F32(4),
    BF16(2);

    private final int bytesPerValue;

    Wire(int bytesPerValue) {
        this.bytesPerValue = bytesPerValue;
    }

    public int bytesPerValue() {
        return bytesPerValue;
    }

    public static Wire parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown wire type '" + s + "' (expected f32 or bf16)");
        }
    }

    /** Encodes {@code src[off, off+n)}. */
    public byte[] encode(float[] src, int off, int n) {
        ByteBuffer b = ByteBuffer.allocate(n * bytesPerValue).order(ByteOrder.LITTLE_ENDIAN);
        if (this == F32) {
            b.asFloatBuffer().put(src, off, n);
        } else {
            for (int i = 0; i < n; i++) {
                b.putShort(BFloat16.fromFloat(src[off + i]));
            }
        }
        return b.array();
    }

    /** Decodes {@code n} values from {@code src} starting at byte {@code srcOff} into {@code dst[off..]}. */
    public void decode(byte[] src, int srcOff, float[] dst, int off, int n) {
        ByteBuffer b = ByteBuffer.wrap(src, srcOff, n * bytesPerValue).order(ByteOrder.LITTLE_ENDIAN);
        if (this == F32) {
            b.asFloatBuffer().get(dst, off, n);
        } else {
            for (int i = 0; i < n; i++) {
                dst[off + i] = BFloat16.toFloat(b.getShort());
            }
        }
    }

    /** Adds the decoded values to {@code dst[off..]}: {@code dst[i] = received[i] + dst[i]}. */
    public void decodeAdd(byte[] src, float[] dst, int off, int n) {
        ByteBuffer b = ByteBuffer.wrap(src).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            float r = this == F32 ? b.getFloat() : BFloat16.toFloat(b.getShort());
            dst[off + i] = r + dst[off + i];
        }
    }
}
