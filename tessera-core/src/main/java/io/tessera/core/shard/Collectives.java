package io.tessera.core.shard;

/**
 * The communication a tensor-parallel forward pass needs between the ranks of one pipeline stage.
 * Every rank calls the same operations in the same order. Implementations must leave every rank
 * with bit-identical results (each element reduced once, in one fixed order, then copied), so that
 * the ranks' replicated activations never drift apart.
 */
public interface Collectives {

    /** No communication: a single rank. */
    Collectives NONE = new Collectives() {
        @Override
        public void allReduceSum(float[] buf, int length) {
        }

        @Override
        public float[] allGather(float[] part, int length) {
            return java.util.Arrays.copyOf(part, length);
        }
    };

    /** Replaces {@code buf[0, length)} on every rank by the element-wise sum over all ranks. */
    void allReduceSum(float[] buf, int length);

    /** Concatenates every rank's {@code part[0, length)} in rank order (all ranks pass the same length). */
    float[] allGather(float[] part, int length);
}
