package io.tessera.engine.executor;

/**
 * Logits of one step: {@code rows} rows of {@code vocabSize} floats, row i for the batch's i-th
 * logits token.
 */
public record StepResult(float[] logits, int rows, int vocabSize) {

    public StepResult {
        if (logits.length < (long) rows * vocabSize) {
            throw new IllegalArgumentException(rows + " rows of " + vocabSize + " logits need more than "
                    + logits.length + " floats");
        }
    }

    public int rowOffset(int row) {
        return row * vocabSize;
    }
}
