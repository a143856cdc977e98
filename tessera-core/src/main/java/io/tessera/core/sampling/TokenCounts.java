package io.tessera.core.sampling;

import java.util.Arrays;

/**
 * The tokens a sequence has seen, for penalties: which occur in the prompt, and how often each
 * was generated. The repetition penalty looks at both (as llama.cpp and vLLM do); presence and
 * frequency penalties look at generated tokens only (as OpenAI and vLLM do). Sparse: memory grows
 * with the distinct tokens of the sequence, not with the vocabulary. Not thread-safe.
 */
public final class TokenCounts {
    private static final int EMPTY = -1;

    private int[] keys = new int[64];
    private int[] outputCounts = new int[64];
    private boolean[] inPrompt = new boolean[64];
    private int size;

    public TokenCounts() {
        Arrays.fill(keys, EMPTY);
    }

    /** Records the prompt's tokens. */
    public void addPrompt(int[] ids) {
        for (int id : ids) addPrompt(id);
    }

    public void addPrompt(int id) {
        int s = slot(id); // before indexing: slot() may grow the arrays
        inPrompt[s] = true;
    }

    /** Records a generated token. */
    public void addOutput(int id) {
        int s = slot(id);
        outputCounts[s]++;
    }

    /** How often the token was generated. */
    public int outputCount(int id) {
        int s = find(id);
        return s < 0 ? 0 : outputCounts[s];
    }

    public boolean inPrompt(int id) {
        int s = find(id);
        return s >= 0 && inPrompt[s];
    }

    /** Number of distinct tokens recorded. */
    public int distinct() {
        return size;
    }

    /** Visits each distinct token. */
    public void forEach(Visitor visitor) {
        for (int s = 0; s < keys.length; s++) {
            if (keys[s] != EMPTY) visitor.visit(keys[s], inPrompt[s], outputCounts[s]);
        }
    }

    @FunctionalInterface
    public interface Visitor {
        void visit(int tokenId, boolean inPrompt, int outputCount);
    }

    private int find(int id) {
        int mask = keys.length - 1;
        for (int s = hash(id) & mask; ; s = (s + 1) & mask) {
            if (keys[s] == id) return s;
            if (keys[s] == EMPTY) return -1;
        }
    }

    private int slot(int id) {
        if (id < 0) throw new IllegalArgumentException("negative token id " + id);
        if ((size + 1) * 2 > keys.length) grow();
        int mask = keys.length - 1;
        int s = hash(id) & mask;
        while (keys[s] != EMPTY && keys[s] != id) s = (s + 1) & mask;
        if (keys[s] == EMPTY) {
            keys[s] = id;
            size++;
        }
        return s;
    }

    private void grow() {
        int[] oldKeys = keys;
        int[] oldCounts = outputCounts;
        boolean[] oldPrompt = inPrompt;
        keys = new int[oldKeys.length * 2];
        outputCounts = new int[keys.length];
        inPrompt = new boolean[keys.length];
        Arrays.fill(keys, EMPTY);
        int mask = keys.length - 1;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] == EMPTY) continue;
            int s = hash(oldKeys[i]) & mask;
            while (keys[s] != EMPTY) s = (s + 1) & mask;
            keys[s] = oldKeys[i];
            outputCounts[s] = oldCounts[i];
            inPrompt[s] = oldPrompt[i];
        }
    }

    private static int hash(int id) {
        int h = id * 0x9E3779B9;
        return h ^ (h >>> 16);
    }
}
