package io.tessera.core.hf;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.safetensors.SafetensorsFile;
import io.tessera.core.safetensors.SafetensorsTensorInfo;
import io.tessera.core.tensor.RowScales;
import io.tessera.core.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * An int8 matrix of a compressed-tensors W8A8 checkpoint and its {@code weight_scale}, as a
 * {@code GgmlType.W8A8} tensor: the I8 bytes are used where the file maps them (row-major
 * {@code [rows, cols]} is already the type's layout: nothing is copied), the scales (per output
 * channel, or one per tensor repeated) are read into floats. Scales that are not finite or are
 * negative, and scale shapes of no supported layout, are refused naming the tensor.
 */
final class Int8Weights {

    private Int8Weights() {
    }

    static Tensor of(String ggufName, SafetensorsFile weightFile, SafetensorsTensorInfo weight,
            SafetensorsFile scaleFile, SafetensorsTensorInfo scale, HfQuantization q, int rows, int cols)
            throws ModelFormatException {
        long[] s = scale.shape();
        long n = scale.elementCount();
        String what = "tensor '" + scale.name() + "'";
        boolean perChannel = n == rows && (s.length == 1 || (s.length == 2 && s[1] == 1));
        if (n != 1 && !perChannel) {
            throw new ModelFormatException(scaleFile.path(), what, "shape " + Arrays.toString(s) + " fits no scale "
                    + "layout of a [" + rows + ", " + cols + "] int8 weight, expected [] or [1] (per tensor), [" + rows
                    + "] or [" + rows + ", 1] (per channel)");
        }
        float[] values = Fp8Weights.values(scaleFile, scale);
        float[] scales = perChannel ? values : new float[rows];
        if (!perChannel) {
            Arrays.fill(scales, values[0]);
        }
        RowScales rowScales;
        try {
            rowScales = new RowScales(scales, q.outlierThreshold());
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(scaleFile.path(), what, e.getMessage());
        }
        MemorySegment data;
        try {
            data = weightFile.tensorData(weight.name());
        } catch (IOException e) {
            throw new ModelFormatException(weightFile.path(), "tensor '" + weight.name() + "'", "cannot be mapped: "
                    + e.getMessage(), e);
        }
        return Tensor.w8a8(ggufName, new long[] {cols, rows}, data, rowScales);
    }
}
