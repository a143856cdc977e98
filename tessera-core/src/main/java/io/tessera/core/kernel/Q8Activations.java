package io.tessera.core.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Activations rounded to 8-bit integers in blocks of 32 values, one float scale per block: the
 * input of the integer dot products of {@link Q8DotKernel} (llama.cpp rounds its activations the same
 * way before a Q8_0 or Q4_0 dot product; before a Q4_K one it rounds per 256 values, which is
 * coarser than the 32 used here). Per block, {@code d} is {@code max|x| / 127} rounded up to
 * {@value #SCALE_BITS} significant bits and q is {@code x·(1/d)} rounded to an integer, halves away
 * from zero (±½ added, then truncated, eight lanes at a time), so {@code |q| ≤ 127} and
 * {@code |x − d·q| ≤ d/2} (plus a float rounding when that sum is inexact). Rounding is vectorised
 * because it runs on the calling thread before the matrix product's threads start, so its time is
 * not shared among them.
 *
 * <p>The scale was given few bits for an earlier matrix tile that summed the exact floats d·q; the
 * present tiles repeat the dot product's own operations and would give the same bits without it.
 * It costs at most 1/64 of a rounding step; dropping it moves every integer-path result and is
 * left for a change of its own.
 *
 * <p>The integers are kept as shorts in their natural order, which both the one-token dot product
 * and the matrix tiles multiply 16 at a time in 16-bit lanes; matrix products also take the block
 * sums by groups of eight tokens ({@link #sumsByGroup}).
 */
final class Q8Activations {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_256;
    private static final int SIGN = 0x80000000;
    private static final int HALF = Float.floatToRawIntBits(0.5f);

    static final int BLOCK = 32;
    /** Significant bits of a block scale. */
    static final int SCALE_BITS = 7;

    /** The integers, natural order. */
    short[] q = new short[0];
    /**
     * The integers in the lane order of {@link LanesKernel} (when asked for): within each 256
     * values, value {@code 16L + s} at {@code 16s + L}.
     */
    short[] lanes = new short[0];
    /**
     * The lane-order integers recombined for the 4-bit dot products ({@link NibbleLanesKernel}): of
     * each four steps 4i..4i+3 of a lane, step 4i as it is and step 4i + n (n = 1, 2, 3) minus 16
     * times step 4i + n − 1, in 16-bit arithmetic (wrapping). A 16-bit word w holding four nibbles
     * then gives their dot product with the four steps as {@code w·e0 + (w>>>4)·e1 + (w>>>8)·e2 +
     * (w>>>12)·e3} modulo 2^16: no masks.
     */
    short[] nibbleSteps = new short[0];
    /** The scale of each block. */
    float[] scale = new float[0];
    /** d·Σq of each block (exact: at most 19 significant bits), for kernels with per-block minimums. */
    float[] sums = new float[0];
    /**
     * The same sums by groups of eight tokens (matrix products only): token t's sum of block b of
     * its row at {@code ((t / 8) · blocksPerRow + b) · 8 + t % 8}, so that a group's sums for a
     * whole row lie together and eight tokens load as one vector.
     */
    float[] sumsByGroup = new float[0];

    /**
     * Rounds {@code tokens} rows of {@code in} values (a multiple of 32) of x; the grouped sums and
     * the lane order (in a multiple of 256) only if asked.
     */
    void quantize(float[] x, int tokens, int in, boolean forMatrix, boolean inLanes) {
        int n = tokens * in;
        if (q.length < n) {
            q = new short[n];
            scale = new float[n / BLOCK];
            sums = new float[n / BLOCK];
        }
        int grouped = (tokens + 7) / 8 * 8 * (in / BLOCK);
        if (forMatrix && sumsByGroup.length < grouped) {
            sumsByGroup = new float[grouped];
        }
        int blocksPerRow = in / BLOCK;
        for (int b = 0, i = 0; i < n; b++, i += BLOCK) {
            FloatVector m = FloatVector.fromArray(F, x, i).abs();
            for (int k = 8; k < BLOCK; k += 8) {
                m = m.max(FloatVector.fromArray(F, x, i + k).abs());
            }
            float d = roundUp(m.reduceLanes(VectorOperators.MAX) / 127);
            float id = d == 0 ? 0 : 1 / d;
            scale[b] = d;
            IntVector sum = IntVector.zero(I);
            for (int k = 0; k < BLOCK; k += 8) {
                // halves away from zero: add ±0.5 with the value's sign, then truncate
                FloatVector v = FloatVector.fromArray(F, x, i + k).mul(id);
                FloatVector half = v.reinterpretAsInts().and(SIGN).or(HALF).reinterpretAsFloats();
                IntVector r = ((IntVector) v.add(half).convert(VectorOperators.F2I, 0)).min(127);
                ((ShortVector) r.convertShape(VectorOperators.I2S, ShortVector.SPECIES_128, 0)).intoArray(q, i + k);
                sum = sum.add(r);
            }
            sums[b] = d * sum.reduceLanes(VectorOperators.ADD);
            if (forMatrix) {
                int t = b / blocksPerRow;
                sumsByGroup[(t / 8 * blocksPerRow + b % blocksPerRow) * 8 + t % 8] = sums[b];
            }
        }
        if (inLanes) {
            toLanes(n);
        }
    }

    private void toLanes(int n) {
        if (lanes.length < n) {
            lanes = new short[n];
            nibbleSteps = new short[n];
        }
        for (int c = 0; c < n; c += 256) {
            for (int lane = 0; lane < 16; lane++) {
                for (int s = 0; s < 16; s++) {
                    lanes[c + 16 * s + lane] = q[c + 16 * lane + s];
                }
            }
            // in lane order a step is one vector: e = step − 16·previous step, except every fourth
            for (int s = 0; s < 16; s++) {
                ShortVector step = ShortVector.fromArray(S, lanes, c + 16 * s);
                if (s % 4 != 0) {
                    step = step.sub(ShortVector.fromArray(S, lanes, c + 16 * (s - 1)).lanewise(VectorOperators.LSHL, 4));
                }
                step.intoArray(nibbleSteps, c + 16 * s);
            }
        }
    }

    /** The smallest float of {@value #SCALE_BITS} significant bits that is at least v (v ≥ 0, normal). */
    static float roundUp(float v) {
        int drop = (1 << (24 - SCALE_BITS)) - 1;
        int bits = Float.floatToRawIntBits(v);
        return Float.intBitsToFloat((bits & drop) == 0 ? bits : (bits | drop) + 1);
    }
}
