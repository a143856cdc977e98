package io.tessera.core.forward;

/**
 * A step's intermediate activations, kept from step to step (per calling thread) and grown to the
 * largest batch seen: allocating them anew each step made the garbage collector grow the young
 * generation to hundreds of MB, which showed up as resident memory. Every array is at least as
 * long as the step needs; the blocks write before they read.
 */
final class StepBuffers {
    /** The normalised input of a block, [n, dim]. */
    float[] h = new float[0];
    float[] q = h;
    float[] k = h;
    float[] v = h;
    /** Attention output before the output projection, [n, qDim]. */
    float[] att = h;
    /** A block's result before it joins the residual stream, [n, dim]. */
    float[] proj = h;
    float[] gate = h;
    float[] up = h;

    StepBuffers ensure(int n, int dim, int qDim, int kvDim, int hidden) {
        if (h.length < n * dim || q.length < n * qDim || k.length < n * kvDim || gate.length < n * hidden) {
            h = new float[n * dim];
            q = new float[n * qDim];
            k = new float[n * kvDim];
            v = new float[n * kvDim];
            att = new float[n * qDim];
            proj = new float[n * dim];
            gate = new float[n * hidden];
            up = new float[n * hidden];
        }
        return this;
    }
}
