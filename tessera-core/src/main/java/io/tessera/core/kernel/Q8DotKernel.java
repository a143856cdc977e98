package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A weight kernel for blocks of 32 integers and one scale (Q8_0, Q4_0; Q4_K also with a minimum per
 * block, see {@link #hasMins}; Q6_K with a scale per 16 values, see {@link #scalesPerBlock}),
 * multiplied with activations rounded to 8 bits in blocks of 32 ({@link Q8Activations}), as
 * llama.cpp does. Within a block everything is integer arithmetic, exact in any order, and only
 * the block's sum is scaled: {@code a = fma(Σ q_w·q_x, d_w·d_x, a)}, eight lanes at a time. These
 * kernels read rows in the file's layout; rows that fill whole 256-value chunks are repacked at
 * load for {@link LanesKernel}, which computes the same integer sums.
 *
 * <p>Why integers: the Vector API has no 8-bit multiply-add, but it multiplies 16-bit lanes, and two
 * products of 8-bit values still fit in 16 bits. {@link #dot} widens the block's 32 weights to two
 * vectors of 16 shorts, multiplies them with the activations and adds the two, then adds neighbouring
 * 16-bit lanes into eight 32-bit lanes: {@code (v + (v << 16)) >> 16} on the int view, exact while
 * their sum fits 16 bits, which it does for 4- and 6-bit weights; Q8_0's four products need each half
 * sign-extended on its own, and the matrix tiles always do that (the same exact sums). This takes
 * fewer instructions per weight than rebuilding each weight as a float, so a row from memory is
 * read faster.
 *
 * <p><b>One summation order.</b> Int lane l of a block holds the values 2l, 2l+1, 2l+16 and 2l+17.
 * Matrix products ({@link MatMul}) decode a band of rows with {@link #decodeShorts} into a panel of
 * shorts and run the same 16-bit products, the same pair sums and the same float operations per
 * (row, token, block) as {@link #dot}, in register tiles that reuse each loaded weight vector for
 * three tokens and each activation vector for two rows; the lanes are added in the fixed order of
 * {@link WeightKernel#lanes}. A token's output is therefore the same bits whatever batch it shares,
 * tiling or thread count.
 */
abstract class Q8DotKernel extends WeightKernel {

    static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;

    Q8DotKernel(GgmlType type) {
        super(type);
    }

    /**
     * Σ W·x over the n values at {@code w[off..]} (whole blocks), x being values xOff..xOff+n of a,
     * xOff a multiple of 32.
     */
    abstract float dot(MemorySegment w, long off, Q8Activations a, int xOff, int n);

    /**
     * The row's n values as 16-bit integers for a matrix product's panel, in their natural order from
     * {@code dst[dstOff..]}, and the weight scales of its blocks ({@link #scalesPerBlock} per block)
     * from {@code scales[sOff..]}: value i = scales[i / (32 / scalesPerBlock)]·dst[i] (minus the
     * block's minimum, see {@link #hasMins}).
     */
    abstract void decodeShorts(MemorySegment w, long off, short[] dst, int dstOff, float[] scales, int sOff, int n);

    /**
     * Scales per 32-value block, 1 or 2 (Q6_K, whose scales change every 16 values). With two, each
     * half is summed on its own in 16-bit lanes and its eight pair sums converted and added with
     * fma(·, d_w·d_x, a), d_w the half's weight scale and d_x the block's activation scale, first
     * half first. Both halves' sums are exact.
     */
    int scalesPerBlock() {
        return 1;
    }

    /**
     * Whether blocks also carry a minimum (Q4_K: value = scale·q − min), which {@link #dot}
     * subtracts as {@code lanes(a) − lanes(g)}: g has eight lanes, lane k the sum over the row's
     * 256-value super-blocks, in ascending order, of {@code fma(m, X, g)} for their block k, m being
     * the block's minimum ({@link #decodeMins}) and X the activation block's d·Σq
     * ({@link Q8Activations#sums}). Matrix products compute g the same way, eight tokens a vector.
     */
    boolean hasMins() {
        return false;
    }

    /** The minimum of each of the row's n / 32 blocks into {@code dst[dstOff..]}; see {@link #hasMins}. */
    void decodeMins(MemorySegment w, long off, float[] dst, int dstOff, int n) {
        throw new UnsupportedOperationException(type() + " blocks have no minimum");
    }
}
