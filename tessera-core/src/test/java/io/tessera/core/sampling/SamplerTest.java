package io.tessera.core.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SamplerTest {
    static final float[] PROBS = {0.1f, 0.2f, 0.3f, 0.4f};

    static float[] logitsOf(float[] probs) {
        float[] l = new float[probs.length];
        for (int i = 0; i < l.length; i++) l[i] = (float) Math.log(probs[i]) + 3f; // any shift gives the same softmax
        return l;
    }

    static double[] frequencies(SamplingParams p, float[] logits, int draws) {
        Sampler s = new Sampler(p);
        double[] f = new double[logits.length];
        for (int i = 0; i < draws; i++) f[s.sample(logits, 0, logits.length, null)] += 1.0 / draws;
        return f;
    }

    static void assertClose(double[] expected, double[] actual) {
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 0.015, "token " + i + " in " + Arrays.toString(actual));
        }
    }

    static float[] randomLogits(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] l = new float[n];
        for (int i = 0; i < n; i++) l[i] = (float) (r.nextGaussian() * 3);
        return l;
    }

    @Test
    void greedyIsArgmaxWithLowestIdOnTies() {
        Sampler s = new Sampler(SamplingParams.greedy());
        assertEquals(3, s.sample(new float[] {1, 2, 0, 5, 5, -1}, 0, 6, null));
        assertEquals(1, s.sample(new float[] {9, 1, 2, 0, 9}, 1, 3, null)); // offset window [1, 4)
        assertEquals(0, s.sample(new float[] {Float.NaN, Float.NEGATIVE_INFINITY}, 0, 2, null));
        float[] big = randomLogits(1, 128_000);
        int best = 0;
        for (int i = 1; i < big.length; i++) if (big[i] > big[best]) best = i;
        assertEquals(best, s.sample(big, 0, big.length, null));
    }

    @Test
    void callerLogitsAreNotModified() {
        float[] logits = randomLogits(2, 1000);
        float[] copy = logits.clone();
        TokenCounts history = new TokenCounts();
        history.addPrompt(new int[] {1, 2, 3});
        history.addOutput(5);
        SamplingParams p = SamplingParams.ofTemperature(0.8f, 1L).withTopK(50).withTopP(0.9f)
                .withPenalties(1.3f, 0.5f, 0.5f);
        new Sampler(p).sample(logits, 0, logits.length, history);
        new Sampler(SamplingParams.greedy().withPenalties(1.3f, 0, 0)).sample(logits, 0, logits.length, history);
        assertArrayEquals(copy, logits);
    }

    @Test
    void sameSeedSameTokensDifferentSeedDifferentTokens() {
        float[] logits = randomLogits(3, 32000);
        int[] a = new int[50];
        int[] b = new int[50];
        int[] c = new int[50];
        Sampler sa = new Sampler(SamplingParams.ofTemperature(1.5f, 7L));
        Sampler sb = new Sampler(SamplingParams.ofTemperature(1.5f, 7L));
        Sampler sc = new Sampler(SamplingParams.ofTemperature(1.5f, 8L));
        for (int i = 0; i < 50; i++) {
            a[i] = sa.sample(logits, 0, logits.length, null);
            new Sampler(SamplingParams.ofTemperature(1f, 99L)).sample(logits, 0, logits.length, null); // interleaved
            b[i] = sb.sample(logits, 0, logits.length, null);
            c[i] = sc.sample(logits, 0, logits.length, null);
        }
        assertArrayEquals(a, b);
        assertNotEquals(Arrays.toString(a), Arrays.toString(c));
    }

    @Test
    void temperatureOneMatchesTheDistribution() {
        assertClose(new double[] {0.1, 0.2, 0.3, 0.4},
                frequencies(SamplingParams.ofTemperature(1f, 11L), logitsOf(PROBS), 20_000));
    }

    @Test
    void temperatureSharpensAndFlattens() {
        // T = 0.5 squares the probabilities: 1, 4, 9, 16 over 30.
        assertClose(new double[] {1 / 30.0, 4 / 30.0, 9 / 30.0, 16 / 30.0},
                frequencies(SamplingParams.ofTemperature(0.5f, 12L), logitsOf(PROBS), 20_000));
    }

    @Test
    void truncationRenormalizes() {
        float[] l = logitsOf(PROBS);
        double[] topTwo = {0, 0, 3 / 7.0, 4 / 7.0};
        assertClose(topTwo, frequencies(SamplingParams.ofTemperature(1f, 13L).withTopK(2), l, 20_000));
        // Sorted 0.4, 0.3: 0.4 < 0.5 <= 0.7, so two tokens reach p = 0.5.
        assertClose(topTwo, frequencies(SamplingParams.ofTemperature(1f, 14L).withTopP(0.5f), l, 20_000));
        // min-p 0.6 keeps tokens with at least 0.6 * 0.4 = 0.24.
        assertClose(topTwo, frequencies(SamplingParams.ofTemperature(1f, 15L).withMinP(0.6f), l, 20_000));
        // top-k 3 renormalizes to 4/9, 3/9, 2/9; top-p 0.6 then keeps 4/9 + 3/9.
        assertClose(topTwo, frequencies(SamplingParams.ofTemperature(1f, 16L).withTopK(3).withTopP(0.6f), l, 20_000));
        // top-k 3 cuts 0.1; min-p 0.5 keeps tokens with at least 0.5 * 0.4 = 0.2, so all three remain.
        assertClose(new double[] {0, 2 / 9.0, 3 / 9.0, 4 / 9.0},
                frequencies(SamplingParams.ofTemperature(1f, 17L).withTopK(3).withMinP(0.5f), l, 20_000));
    }

    @Test
    void topKOneAndTinyTopPAreGreedy() {
        Sampler greedy = new Sampler(SamplingParams.greedy());
        Sampler k1 = new Sampler(SamplingParams.ofTemperature(1.2f, 5L).withTopK(1));
        Sampler p0 = new Sampler(SamplingParams.ofTemperature(1.2f, 6L).withTopP(1e-6f));
        for (int t = 0; t < 20; t++) {
            float[] l = randomLogits(100 + t, 5000);
            int g = greedy.sample(l, 0, l.length, null);
            assertEquals(g, k1.sample(l, 0, l.length, null));
            assertEquals(g, p0.sample(l, 0, l.length, null));
        }
        float[] tie = {1, 7, 3, 7};
        assertEquals(1, k1.sample(tie, 0, 4, null));
        assertEquals(1, p0.sample(tie, 0, 4, null));
    }

    @Test
    void truncatedSamplingStaysInsideTheTopKOfALargeVocabulary() {
        float[] l = randomLogits(21, 128_000);
        Integer[] order = new Integer[l.length];
        for (int i = 0; i < l.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Float.compare(l[b], l[a]));
        java.util.Set<Integer> top40 = new java.util.HashSet<>(Arrays.asList(order).subList(0, 40));
        Sampler s = new Sampler(SamplingParams.ofTemperature(1f, 3L).withTopK(40).withTopP(0.95f));
        Sampler p = new Sampler(SamplingParams.ofTemperature(0.7f, 4L).withTopP(0.5f));
        for (int i = 0; i < 200; i++) {
            assertTrue(top40.contains(s.sample(l, 0, l.length, null)));
            int t = p.sample(l, 0, l.length, null);
            assertTrue(l[t] >= l[order[200]], "top-p token far down the ranking: " + t);
        }
    }

    @Test
    void penaltiesByHand() {
        float[] logits = {2.0f, -1.0f, 0.5f, 3.0f};
        TokenCounts h = new TokenCounts();
        h.addPrompt(0);
        h.addOutput(1);
        h.addOutput(1);
        h.addOutput(2);
        SamplingParams p = SamplingParams.greedy().withPenalties(2f, 0.5f, 0.25f);
        Sampler.applyPenalties(logits, 4, h, p);
        // 0: prompt only, 2 / 2. 1: -1 * 2 - (0.5 + 0.25 * 2). 2: 0.5 / 2 - (0.5 + 0.25). 3: untouched.
        assertArrayEquals(new float[] {1.0f, -3.0f, -0.5f, 3.0f}, logits, 1e-6f);
        // Greedy with a strong repetition penalty avoids the prompt's favourite.
        assertEquals(1, new Sampler(SamplingParams.greedy().withPenalties(10f, 0, 0))
                .sample(new float[] {5f, 1f, 0.1f}, 0, 3, h(0)));
    }

    static TokenCounts h(int promptToken) {
        TokenCounts t = new TokenCounts();
        t.addPrompt(promptToken);
        return t;
    }

    @Test
    void tokenCountsGrow() {
        TokenCounts t = new TokenCounts();
        for (int i = 0; i < 10_000; i++) t.addOutput(i * 7 % 3001);
        t.addPrompt(5000);
        assertEquals(3002, t.distinct());
        assertEquals(4, t.outputCount(7));
        assertTrue(t.inPrompt(5000));
        assertEquals(0, t.outputCount(5000));
    }

    @Test
    void paramsValidation() {
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.ofTemperature(-1f, null));
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.ofTemperature(Float.NaN, null));
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.greedy().withTopK(-2));
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.greedy().withTopP(0f));
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.greedy().withTopP(1.1f));
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.greedy().withMinP(-0.1f));
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.greedy().withPenalties(0f, 0, 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SamplingParams.greedy().withPenalties(1f, 3f, 0));
        assertTrue(e.getMessage().contains("presencePenalty"), e.getMessage());
        assertTrue(SamplingParams.greedy().isGreedy());
    }

    @Test
    void rankingSelectsLikeASort() {
        SplittableRandom r = new SplittableRandom(9);
        for (int t = 0; t < 200; t++) {
            int n = 1 + r.nextInt(3000);
            int k = 1 + r.nextInt(n);
            long[] keys = new long[n];
            for (int i = 0; i < n; i++) keys[i] = Ranking.key((float) r.nextInt(50) - 25, i); // many ties
            long[] sorted = keys.clone();
            Arrays.sort(sorted);
            Ranking.selectSorted(keys, n, k);
            assertArrayEquals(Arrays.copyOf(sorted, k), Arrays.copyOf(keys, k));
        }
        assertTrue(Ranking.key(2f, 5) < Ranking.key(1f, 0));
        assertTrue(Ranking.key(-1f, 0) < Ranking.key(-2f, 0));
        assertTrue(Ranking.key(1f, 3) < Ranking.key(1f, 4));
    }

    @Test
    void logProbsAreNormalizedAndSorted() {
        float[] l = randomLogits(31, 500);
        LogProbs lp = LogProbs.compute(l, 0, l.length, 17, l.length);
        double sum = 0;
        for (float v : lp.topLogprobs()) sum += Math.exp(v);
        assertEquals(1.0, sum, 1e-4);
        for (int i = 1; i < lp.topIds().length; i++) assertTrue(lp.topLogprobs()[i - 1] >= lp.topLogprobs()[i]);
        int at = Arrays.stream(lp.topIds()).boxed().toList().indexOf(17);
        assertEquals(lp.topLogprobs()[at], lp.logprob(), 1e-6f);

        LogProbs small = LogProbs.compute(logitsOf(PROBS), 0, 4, 0, 2);
        assertArrayEquals(new int[] {3, 2}, small.topIds());
        assertEquals(Math.log(0.4), small.topLogprobs()[0], 1e-5);
        assertEquals(Math.log(0.1), small.logprob(), 1e-5);

        // The sampler reports the penalized distribution, before temperature.
        Sampler s = new Sampler(SamplingParams.ofTemperature(0.1f, 1L).withPenalties(1f, 1f, 0));
        TokenCounts h = new TokenCounts();
        h.addOutput(3);
        float[] base = logitsOf(PROBS);
        int chosen = s.sample(base, 0, 4, h);
        float[] penalized = base.clone();
        penalized[3] -= 1f;
        assertEquals(LogProbs.compute(penalized, 0, 4, chosen, 0).logprob(), s.logProbs(chosen, 0).logprob(), 1e-6f);
    }
}
