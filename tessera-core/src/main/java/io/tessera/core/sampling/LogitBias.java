package io.tessera.core.sampling;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * OpenAI's {@code logit_bias}: a value added to the logit of each listed token before sampling
 * (-100 bans a token in practice, 100 all but forces it). Immutable.
 */
public final class LogitBias implements LogitsProcessor {
    public static final float MAX_ABS = 100f;

    private final int[] ids;
    private final float[] values;

    /** @throws IllegalArgumentException for a negative id or a value outside [-100, 100] */
    public LogitBias(Map<Integer, Float> bias) {
        TreeMap<Integer, Float> sorted = new TreeMap<>(bias);
        ids = new int[sorted.size()];
        values = new float[sorted.size()];
        int i = 0;
        for (Map.Entry<Integer, Float> e : sorted.entrySet()) {
            float v = e.getValue();
            if (e.getKey() < 0 || !(v >= -MAX_ABS && v <= MAX_ABS)) {
                throw new IllegalArgumentException("logit bias " + e.getKey() + " -> " + v + " is out of range");
            }
            ids[i] = e.getKey();
            values[i++] = v;
        }
    }

    @Override
    public void process(float[] logits, int vocabSize) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < vocabSize) {
                logits[ids[i]] += values[i];
            }
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LogitBias b && Arrays.equals(b.ids, ids) && Arrays.equals(b.values, values);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(ids) + Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("LogitBias{");
        for (int i = 0; i < ids.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(ids[i]).append('=').append(values[i]);
        }
        return sb.append('}').toString();
    }
}
