package io.tessera.core.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.GoldenCases;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import java.util.Arrays;
import java.util.List;

/** Runs golden cases through a model one request at a time and checks tokens and logits. */
public final class GoldenRunner {

    public static final double LOGIT_TOLERANCE = 1e-4;

    private GoldenRunner() {
    }

    public static int argmax(float[] x, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (x[off + i] > x[off + best]) {
                best = i;
            }
        }
        return best;
    }

    /** Prefills the prompt (logits at every prompt position), then decodes greedily, as llama2.c does. */
    public static int[] greedy(DecoderForward forward, GoldenCases.Case c, float[][] logitsOut) {
        Model model = forward.model();
        int vocab = model.config().vocabSize();
        int blockSize = 16;
        int[] table = new int[(c.steps() + blockSize - 1) / blockSize];
        Arrays.setAll(table, i -> i);
        KvCache cache = new F32KvCache(model.config(), table.length, blockSize);
        int[] prompt = c.promptTokens();
        float[] logits = forward.forward(ForwardBatch.single(table, prompt, 0, ForwardBatch.Logits.ALL), cache);
        for (int p = 0; p < prompt.length && logitsOut != null; p++) {
            logitsOut[p] = Arrays.copyOfRange(logits, p * vocab, (p + 1) * vocab);
        }
        int[] out = new int[c.steps() - prompt.length + 1];
        int produced = 0;
        int tok = argmax(logits, (prompt.length - 1) * vocab, vocab);
        out[produced++] = tok;
        for (int pos = prompt.length; pos < c.steps() && tok != 1; pos++) {
            logits = forward.forward(ForwardBatch.single(table, new int[] {tok}, pos, ForwardBatch.Logits.LAST), cache);
            if (logitsOut != null) {
                logitsOut[pos] = logits.clone();
            }
            tok = argmax(logits, 0, vocab);
            out[produced++] = tok;
        }
        return Arrays.copyOf(out, produced);
    }

    public static void assertMatchesGolden(Model model, Parallel parallel, List<GoldenCases.Case> cases) {
        DecoderForward forward = new DecoderForward(model, parallel);
        for (GoldenCases.Case c : cases) {
            float[][] logits = new float[c.steps()][];
            int[] tokens = greedy(forward, c, logits);
            assertArrayEquals(c.generated(), tokens, "greedy tokens of case " + c.index() + " (" + c.prompt() + ")");
            if (c.logits() != null) {
                double maxDiff = 0;
                for (int p = 0; p < c.steps(); p++) {
                    for (int i = 0; i < c.logits()[p].length; i++) {
                        maxDiff = Math.max(maxDiff, Math.abs(c.logits()[p][i] - logits[p][i]));
                    }
                }
                System.out.printf("case %d: max |logit - reference| = %.3g%n", c.index(), maxDiff);
                assertTrue(maxDiff <= LOGIT_TOLERANCE, "case " + c.index() + " max |logit - reference| = " + maxDiff);
            }
        }
    }
}
