package io.tessera.core.tensor;

import java.util.Arrays;

/**
 * What a {@link GgmlType#W8A8} matrix carries beside its int8 rows: one float scale per row (row r's
 * values are {@code scales[r] · q}), and the LLM.int8() threshold of its activations.
 *
 * @param scales one finite, non-negative scale per row; not copied, never changed after construction
 * @param outlierThreshold 0 for none; otherwise, for each token, the activation columns whose
 *     magnitude exceeds it are left out of the int8 product and multiplied in float instead
 *     (mixed-precision decomposition), so one large activation does not coarsen the rounding of
 *     all the others
 */
public record RowScales(float[] scales, float outlierThreshold) {

    public RowScales {
        if (!(outlierThreshold >= 0) || Float.isInfinite(outlierThreshold)) {
            throw new IllegalArgumentException("outlier threshold " + outlierThreshold + " must be finite and >= 0");
        }
        for (int i = 0; i < scales.length; i++) {
            if (!(scales[i] >= 0) || Float.isInfinite(scales[i])) {
                throw new IllegalArgumentException("row scale " + i + " is " + scales[i]
                        + "; W8A8 scales must be finite and not negative");
            }
        }
    }

    /** The scales of rows {@code [from, from + count)}, same threshold. */
    public RowScales rows(long from, long count) {
        return new RowScales(Arrays.copyOfRange(scales, Math.toIntExact(from), Math.toIntExact(from + count)),
                outlierThreshold);
    }

    /** The same scales with another threshold. */
    public RowScales withOutlierThreshold(float threshold) {
        return new RowScales(scales, threshold);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RowScales r && Arrays.equals(scales, r.scales)
                && Float.compare(outlierThreshold, r.outlierThreshold) == 0;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(scales) * 31 + Float.hashCode(outlierThreshold);
    }

    @Override
    public String toString() {
        return scales.length + " row scales" + (outlierThreshold > 0 ? ", outliers over " + outlierThreshold : "");
    }
}
