package io.tessera.core.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Speculative verification of a deterministic proposal keeps the sampler's distribution: accepting
 * x with probability p(x) and otherwise drawing from p without x gives p itself.
 */
class SamplerVerifyTest {

    static final float[] LOGITS = {2.0f, 1.2f, 0.3f, -0.5f, 1.7f, -3f, 0.9f};
    static final int DRAWS = 40_000;

    /** Exact probabilities: softmax(l / T) over the top-k logits, zero elsewhere. */
    static double[] target(float temperature, int topK) {
        Integer[] order = new Integer[LOGITS.length];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, (a, b) -> Float.compare(LOGITS[b], LOGITS[a]));
        double[] p = new double[LOGITS.length];
        double total = 0;
        for (int r = 0; r < topK; r++) {
            int id = order[r];
            p[id] = Math.exp((LOGITS[id] - LOGITS[order[0]]) / temperature);
            total += p[id];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= total;
        }
        return p;
    }

    @Test
    void verifiedTokensFollowTheTargetDistributionWhateverIsProposed() {
        float temperature = 0.8f;
        int topK = 5;
        double[] p = target(temperature, topK);
        // the most likely token, a middling one, the least likely kept, one that top-k removes
        for (int proposal : new int[] {0, 6, 2, 5}) {
            Sampler s = new Sampler(SamplingParams.ofTemperature(temperature, 42L + proposal).withTopK(topK));
            long[] counts = new long[LOGITS.length];
            long accepted = 0;
            for (int i = 0; i < DRAWS; i++) {
                int t = s.verify(LOGITS, 0, LOGITS.length, null, null, proposal);
                counts[t]++;
                accepted += t == proposal ? 1 : 0;
            }
            double chiSquare = 0;
            double tv = 0;
            int cells = 0;
            for (int i = 0; i < p.length; i++) {
                double expected = p[i] * DRAWS;
                if (expected == 0) {
                    assertEquals(0, counts[i], "token " + i + " has no probability but was drawn");
                    continue;
                }
                cells++;
                chiSquare += (counts[i] - expected) * (counts[i] - expected) / expected;
                tv += Math.abs(counts[i] / (double) DRAWS - p[i]) / 2;
            }
            // 4 degrees of freedom: P(chi2 > 40) < 1e-7, so only a wrong rule fails
            assertTrue(chiSquare < 40, "proposal " + proposal + ": chi-square " + chiSquare + " over " + cells
                    + " cells, counts " + Arrays.toString(counts) + " vs " + Arrays.toString(p));
            assertTrue(tv < 0.02, "proposal " + proposal + ": total variation " + tv);
            assertEquals(p[proposal], accepted / (double) DRAWS, 0.015, "acceptance rate of proposal " + proposal);
        }
    }

    @Test
    void greedyVerificationIsTheArgmax() {
        Sampler s = new Sampler(SamplingParams.greedy());
        assertEquals(0, s.verify(LOGITS, 0, LOGITS.length, null, null, 0));
        assertEquals(0, s.verify(LOGITS, 0, LOGITS.length, null, null, 4));
        // a processor's mask applies before the comparison, as in sample()
        assertEquals(4, s.verify(LOGITS, 0, LOGITS.length, null, (l, n) -> l[0] = Float.NEGATIVE_INFINITY, 4));
    }

    @Test
    void aProposalOutsideTheVocabularyIsRefused() {
        Sampler s = new Sampler(SamplingParams.ofTemperature(1f, 1L));
        assertThrows(IllegalArgumentException.class, () -> s.verify(LOGITS, 0, LOGITS.length, null, null, 7));
        assertThrows(IllegalArgumentException.class, () -> s.verify(LOGITS, 0, LOGITS.length, null, null, -1));
    }
}
