package io.tessera.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.sampling.LogProbs;
import io.tessera.core.sampling.SamplingParams;
import io.tessera.engine.scheduler.SchedulerConfig;
import io.tessera.engine.spec.SpeculativeConfig;
import io.tessera.engine.spec.SpeculativeStats;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Prompt-lookup speculation over {@link PagedTokenModel}, whose output depends on the tokens it
 * reads back from its paged cache: outputs equal plain decoding's delta for delta (tokens, text,
 * logprobs, finish reasons), rejected positions are rolled back and never cached, and sampled
 * outputs keep the model's distribution.
 */
class SpeculativeDecodingTest {

    static final int VOCAB = 40;
    static final PagedTokenModel.Rule COPY = PagedTokenModel.copy(VOCAB, 6, 9);

    static EngineConfig config(int maxBatchedTokens, int maxSeqs, boolean caching, SpeculativeConfig spec, int... eos) {
        return new EngineConfig(new SchedulerConfig(maxBatchedTokens, maxSeqs, 0.01), caching, eos, spec);
    }

    /** Runs the requests, all added at the first step, to the end on a fresh engine. */
    static Harness run(PagedTokenModel.Rule rule, int numBlocks, EngineConfig config, Detokenizer detok,
            List<GenerateRequest> requests) {
        Harness h = new Harness(new PagedTokenModel(VOCAB, 4, numBlocks, rule), config, detok);
        h.runToEnd(step -> {
            if (step == 0) {
                requests.forEach(h::add);
            }
        });
        assertEquals(0, h.core.blocks().usedBlocks(), "blocks left in use");
        return h;
    }

    static int[] periodic(int seed, int period, int length) {
        int[] base = TestModelsEngine.prompts(seed, VOCAB, period)[0];
        int[] p = new int[length];
        for (int i = 0; i < length; i++) {
            p[i] = base[i % period];
        }
        return p;
    }

    static List<GenerateRequest> greedyRequests() {
        List<GenerateRequest> r = new ArrayList<>();
        int[] lengths = {7, 13, 20, 6, 31, 9};
        for (int i = 0; i < lengths.length; i++) {
            r.add(new GenerateRequest("g" + i, periodic(i, 6, lengths[i]), GenerateParams.greedy(25 + 3 * i)));
        }
        // a prompt with no repetition: nothing to look up at first
        r.add(new GenerateRequest("random", TestModelsEngine.prompts(99, VOCAB, 11)[0], GenerateParams.greedy(30)));
        return r;
    }

    @Test
    void greedyOutputEqualsTheModelsOwnAcrossBudgetsAndPreemption() {
        List<GenerateRequest> requests = greedyRequests();
        // roomy; a budget that cuts drafts short; a cache so small that sequences are preempted
        int[][] settings = {{200, 64, 8}, {200, 5, 8}, {20, 64, 3}};
        for (int[] s : settings) {
            for (int k : new int[] {1, 4, 7}) {
                Harness h = run(COPY, s[0], config(s[1], s[2], true, SpeculativeConfig.ngram(k)), null, requests);
                for (GenerateRequest r : requests) {
                    int[] ref = PagedTokenModel.greedy(COPY, VOCAB, r.promptUnsafe(), r.params().maxTokens());
                    assertArrayEquals(ref, h.tokens(r.id(), 0), r.id() + " k " + k + " " + Arrays.toString(s));
                    assertEquals(FinishReason.LENGTH, h.last.get(r.id()).finishReason());
                }
                SpeculativeStats st = h.core.speculativeStats();
                assertTrue(st.acceptedTokens() > 0 && st.acceptedTokens() < st.proposedTokens(),
                        "some proposals accepted, some rejected: " + st);
                if (s[0] == 20) {
                    assertTrue(h.core.scheduler().preemptions() > 0, "no preemption in a tiny cache");
                }
                if (s[0] == 200 && s[1] == 64) {
                    // fewer steps than tokens: the point of speculation
                    assertTrue(st.tokensPerVerifyStep() > 1.5, "tokens per verify step " + st.tokensPerVerifyStep());
                }
            }
        }
    }

    @Test
    void rejectedPositionsNeverReachThePrefixCache() {
        // every proposal after position 4 goes wrong where the rule deviates (every 3rd token)
        PagedTokenModel.Rule rule = PagedTokenModel.copy(VOCAB, 4, 3);
        int[] prompt = periodic(5, 4, 9);
        GenerateRequest first = new GenerateRequest("first", prompt, GenerateParams.greedy(40));
        Harness h = new Harness(new PagedTokenModel(VOCAB, 4, 64, rule),
                config(64, 8, true, SpeculativeConfig.ngram(5)), null);
        List<GenerateRequest> second = new ArrayList<>();
        h.runToEnd(step -> {
            if (step == 0) {
                h.add(first);
            }
            if (h.last.containsKey("first") && second.isEmpty()) {
                // the whole first sequence (prompt and output) as a prompt: its blocks come from the cache
                int[] out = h.tokens("first", 0);
                int[] p = Arrays.copyOf(prompt, prompt.length + out.length);
                System.arraycopy(out, 0, p, prompt.length, out.length);
                second.add(new GenerateRequest("second", p, GenerateParams.greedy(12)));
                h.add(second.get(0));
            }
        });
        int[] ref = PagedTokenModel.greedy(rule, VOCAB, prompt, 40);
        assertArrayEquals(ref, h.tokens("first", 0));
        SpeculativeStats st = h.core.speculativeStats();
        assertTrue(st.proposedTokens() - st.acceptedTokens() > 10, "rejections " + st);
        GenerateRequest r = second.get(0);
        assertTrue(h.last.get("second").usage().cachedPromptTokens() >= 40, "cached " + h.last.get("second").usage());
        assertArrayEquals(PagedTokenModel.greedy(rule, VOCAB, r.promptUnsafe(), 12), h.tokens("second", 0));
        assertEquals(0, h.core.blocks().usedBlocks());
    }

    /** Every delta of every request is the same with speculation as without. */
    static void assertSameDeltas(Harness plain, Harness spec, List<GenerateRequest> requests) {
        for (GenerateRequest r : requests) {
            List<RequestOutput> a = plain.outputs.get(r.id());
            List<RequestOutput> b = spec.outputs.get(r.id());
            // merge per sample: deltas of different samples interleave differently with fewer steps
            for (int sample = 0; sample < r.params().n(); sample++) {
                List<RequestOutput> x = ofSample(a, sample);
                List<RequestOutput> y = ofSample(b, sample);
                assertEquals(x.size(), y.size(), r.id() + " sample " + sample + " delta count");
                for (int i = 0; i < x.size(); i++) {
                    RequestOutput p = x.get(i);
                    RequestOutput q = y.get(i);
                    String where = r.id() + " sample " + sample + " delta " + i;
                    assertArrayEquals(p.tokenIds(), q.tokenIds(), where);
                    assertEquals(p.text(), q.text(), where);
                    assertEquals(p.finishReason(), q.finishReason(), where);
                    assertEquals(p.logprobs().size(), q.logprobs().size(), where);
                    for (int j = 0; j < p.logprobs().size(); j++) {
                        LogProbs u = p.logprobs().get(j);
                        LogProbs v = q.logprobs().get(j);
                        assertEquals(u.token(), v.token(), where);
                        assertEquals(u.logprob(), v.logprob(), where);
                        assertArrayEquals(u.topIds(), v.topIds(), where);
                        assertArrayEquals(u.topLogprobs(), v.topLogprobs(), where);
                    }
                }
            }
            if (r.params().n() == 1) {
                assertEquals(plain.last.get(r.id()).usage(), spec.last.get(r.id()).usage(), r.id());
            }
        }
    }

    static List<RequestOutput> ofSample(List<RequestOutput> all, int sample) {
        return all.stream().filter(o -> o.index() == sample).toList();
    }

    @Test
    void stopStringsEosStopTokensMaxTokensSamplesAndLogprobsAreUnchanged() {
        int[] prompt = periodic(3, 6, 14);
        int[] ref = PagedTokenModel.greedy(COPY, VOCAB, prompt, 60);
        String refText = EngineTest.letters(ref);
        // an EOS and a stop token that first appear well into the output, inside accepted runs
        int eos = firstNewAfter(ref, 12);
        int stopToken = firstNewAfter(ref, 20);
        String stop = refText.substring(17, 20);
        List<GenerateRequest> requests = List.of(
                new GenerateRequest("stop", prompt, GenerateParams.greedy(60).withStop(List.of(stop, "qqqqqq"))
                        .withIgnoreEos(true)),
                new GenerateRequest("eos", prompt, GenerateParams.greedy(60)),
                new GenerateRequest("stopToken", prompt, GenerateParams.greedy(60).withStopTokenIds(stopToken)
                        .withIgnoreEos(true)),
                new GenerateRequest("max", prompt, GenerateParams.greedy(11).withIgnoreEos(true)),
                new GenerateRequest("n3", prompt, GenerateParams.greedy(23).withN(3).withIgnoreEos(true)
                        .withLogprobs(2)),
                new GenerateRequest("logprobs", periodic(8, 5, 12), GenerateParams.greedy(30).withLogprobs(3)
                        .withIgnoreEos(true)));
        Harness plain = run(COPY, 120, config(64, 16, true, SpeculativeConfig.off(), eos), EngineTest.LETTERS,
                requests);
        Harness spec = run(COPY, 120, config(64, 16, true, SpeculativeConfig.ngram(6), eos), EngineTest.LETTERS,
                requests);
        assertSameDeltas(plain, spec, requests);
        assertEquals(FinishReason.STOP_STRING, spec.last.get("stop").finishReason());
        assertEquals(FinishReason.EOS, spec.last.get("eos").finishReason());
        assertEquals(FinishReason.STOP_TOKEN, spec.last.get("stopToken").finishReason());
        assertEquals(11, spec.tokens("max", 0).length);
        assertTrue(spec.core.speculativeStats().acceptedTokens() > 30, "" + spec.core.speculativeStats());
        assertTrue(spec.steps < plain.steps, spec.steps + " steps with speculation, " + plain.steps + " without");
    }

    /** The first output position at or after {@code from} whose token did not appear in the output before. */
    static int firstNewAfter(int[] out, int from) {
        for (int i = from; i < out.length; i++) {
            int t = out[i];
            boolean seen = false;
            for (int j = 0; j < i; j++) {
                seen |= out[j] == t;
            }
            if (!seen) {
                return t;
            }
        }
        throw new AssertionError("no new token after " + from + " in " + Arrays.toString(out));
    }

    /** Second-order Markov rule over 3 tokens: the next token's logits depend on the last two tokens. */
    static final PagedTokenModel.Rule MARKOV = (h, n, out, off) -> {
        Arrays.fill(out, off, off + VOCAB, Float.NEGATIVE_INFINITY);
        int a = h[n - 1];
        int b = n >= 2 ? h[n - 2] : 0;
        for (int t = 0; t < 3; t++) {
            out[off + t] = (float) Math.log(markov(a, b, t));
        }
    };

    static double markov(int last, int before, int next) {
        double[] w = {1 + ((last + 2 * before + next) % 3), next == last ? 3 : 1, next == before ? 2 : 0.5};
        double[] all = new double[3];
        double total = 0;
        for (int t = 0; t < 3; t++) {
            double[] v = {1 + ((last + 2 * before + t) % 3), t == last ? 3 : 1, t == before ? 2 : 0.5};
            all[t] = v[0] * v[1] * v[2];
            total += all[t];
        }
        return w[0] * w[1] * w[2] / total;
    }

    @Test
    void sampledOutputsKeepTheModelsDistribution() {
        int[] prompt = {0, 1, 2, 0, 1, 2, 0, 1};
        int len = 4;
        int requests = 3000;
        List<GenerateRequest> rs = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            rs.add(new GenerateRequest("s" + i, prompt, GenerateParams.greedy(len).withIgnoreEos(true)
                    .withSampling(SamplingParams.ofTemperature(1f, 1000L + i))));
        }
        Harness h = run(MARKOV, 4000, config(2048, 256, false, SpeculativeConfig.ngram(3)), null, rs);
        SpeculativeStats st = h.core.speculativeStats();
        assertTrue(st.acceptedTokens() > 1000 && st.proposedTokens() - st.acceptedTokens() > 1000, "" + st);
        int cells = 81;
        long[] counts = new long[cells];
        for (int i = 0; i < requests; i++) {
            int[] t = h.tokens("s" + i, 0);
            counts[((t[0] * 3 + t[1]) * 3 + t[2]) * 3 + t[3]]++;
        }
        double chiSquare = 0;
        for (int c = 0; c < cells; c++) {
            int[] t = {c / 27, c / 9 % 3, c / 3 % 3, c % 3};
            int a = prompt[prompt.length - 1];
            int b = prompt[prompt.length - 2];
            double p = 1;
            for (int x : t) {
                p *= markov(a, b, x);
                b = a;
                a = x;
            }
            double expected = p * requests;
            chiSquare += (counts[c] - expected) * (counts[c] - expected) / expected;
        }
        // 80 degrees of freedom: mean 80, P(chi2 > 160) < 1e-6
        assertTrue(chiSquare < 160, "chi-square " + chiSquare + ", counts " + Arrays.toString(counts));
    }

}
