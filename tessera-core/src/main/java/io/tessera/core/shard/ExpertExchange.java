package io.tessera.core.shard;

/**
 * The all-to-all of expert parallelism between the ranks that share a model's experts (one
 * pipeline stage's expert-parallel group). Each mixture-of-experts layer calls {@link #exchange}
 * twice, every rank alike: once to dispatch the rows of its tokens to the ranks that hold their
 * experts, once to combine (each rank returns the expert outputs of the rows it was sent, in the
 * order they came). A rank with no tokens of its own in a step still takes part, with empty parcels.
 */
public interface ExpertExchange {

    /** This rank's index in the group. */
    int rank();

    /** Ranks in the group. */
    int ranks();

    /** Which rank holds which expert of each layer. */
    ExpertPlacement placement();

    /**
     * Sends {@code out[q]} to every rank {@code q != rank()} (one message each, empty ones too) and
     * returns what each other rank sent to this one; the own slot of both arrays is ignored / null.
     *
     * @param dispatch true for the dispatch of a layer, false for its combine
     */
    Parcel[] exchange(Parcel[] out, boolean dispatch);

    /**
     * Rows for (or from) one rank: {@code rows} rows of {@code width} values, and for a dispatch
     * the expert each row is for.
     *
     * @param experts the expert of each row (dispatch), or null (combine)
     */
    record Parcel(int rows, int[] experts, float[] values) {

        public static final Parcel EMPTY = new Parcel(0, new int[0], new float[0]);
    }
}
