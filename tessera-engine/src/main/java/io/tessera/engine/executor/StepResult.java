package io.tessera.engine.executor;

/**
 * Logits of one step: {@code rows} rows of {@code vocabSize} floats, row i for the batch's i-th
 * logits token; and, when the batch asked for them, the final hidden states: one row of
 * {@code hiddenDim} floats per hidden token of the batch, in its order (empty otherwise).
 */
public record StepResult(float[] logits, int rows, int vocabSize, float[] hidden, int hiddenDim) {

    private static final float[] NONE = new float[0];

    public StepResult {
        if (logits.length < (long) rows * vocabSize) {
            throw new IllegalArgumentException(rows + " rows of " + vocabSize + " logits need more than "
                    + logits.length + " floats");
        }
        hidden = hidden == null ? NONE : hidden;
    }

    /** Logits only. */
    public StepResult(float[] logits, int rows, int vocabSize) {
        this(logits, rows, vocabSize, NONE, 0);
    }

    public int rowOffset(int row) {
        return row * vocabSize;
    }

    public int hiddenOffset(int row) {
        return row * hiddenDim;
    }
}
