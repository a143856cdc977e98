package io.tessera.core.hf;

/**
 * The two orders in which Q and K projection rows can pair rotary dimensions within a head of
 * {@code headDim} rows: Hugging Face's half-split order (row {@code j · headDim/2 + i} is pair
 * {@code i}'s {@code j}-th component) and the interleaved order llama.cpp's converter permutes
 * them into for its {@code llama} architecture (the same component at row {@code 2i + j}).
 */
final class RotaryRowOrder {

    private RotaryRowOrder() {
    }

    /** The interleaved-order row holding half-split row {@code row}. */
    static long interleavedRow(long row, int headDim) {
        long head = row / headDim;
        int within = (int) (row % headDim);
        int half = headDim / 2;
        return head * headDim + 2L * (within % half) + within / half;
    }

    /** The half-split row holding interleaved row {@code row}: the inverse of {@link #interleavedRow}. */
    static long halfSplitRow(long row, int headDim) {
        long head = row / headDim;
        int within = (int) (row % headDim);
        return head * headDim + (long) (within % 2) * (headDim / 2) + within / 2;
    }
}
