package io.tessera.bench;

import io.tessera.core.kernel.WeightKernel;
import io.tessera.core.quant.QuantCodec;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

/** The weights and activations of the matrix-product benchmarks, the same from the same seed. */
final class RandomMatrix {

    private RandomMatrix() {
    }

    /**
     * A rows × in weight matrix of the given type: Gaussian values of deviation 0.02, encoded by its
     * codec, then repacked as a model's matrices are at load ({@link WeightKernel#repackForKernels})
     * unless {@code fileLayout}.
     */
    static Tensor weights(GgmlType type, int rows, int in, Random rnd, boolean fileLayout) {
        long rowBytes = type.bytesFor(in);
        MemorySegment seg = Arena.global().allocate(rowBytes * rows, 64);
        float[] src = new float[in];
        QuantCodec codec = QuantCodec.of(type);
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < in; i++) {
                src[i] = (float) rnd.nextGaussian() * 0.02f;
            }
            codec.quantizeRow(src, 0, in, seg, r * rowBytes);
        }
        Tensor t = new Tensor("w", type, new long[] {in, rows}, seg);
        return fileLayout ? t : WeightKernel.repackForKernels(t, Arena.global());
    }

    /** n standard Gaussian activations. */
    static float[] activations(int n, Random rnd) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }
}
