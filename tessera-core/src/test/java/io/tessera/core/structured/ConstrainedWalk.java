package io.tessera.core.structured;

import io.tessera.core.sampling.Sampler;
import io.tessera.core.sampling.SamplingParams;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Generates text under a constraint the way the engine does (the sampler with the cursor as its
 * logits processor), from random logits instead of a model's: a stand-in model that would pick
 * anything. After {@code freeSteps} tokens it steers toward completion, picking among the allowed
 * tokens the one that leaves the fewest bytes to an accepting state, so every walk ends.
 */
final class ConstrainedWalk {
    final String text;
    final boolean ended;

    private ConstrainedWalk(String text, boolean ended) {
        this.text = text;
        this.ended = ended;
    }

    static ConstrainedWalk run(TokenConstraint c, int endToken, long seed, int freeSteps) {
        TokenVocabulary vocab = c.vocabulary();
        int n = vocab.size();
        ConstraintCursor cursor = c.start(new int[] {endToken});
        Sampler sampler = new Sampler(SamplingParams.ofTemperature(1.0f, seed));
        SplittableRandom random = new SplittableRandom(seed);
        float[] logits = new float[n];
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int step = 0; step < freeSteps + 400; step++) {
            if (cursor.complete()) {
                return new ConstrainedWalk(out.toString(StandardCharsets.UTF_8), true);
            }
            int token;
            if (step < freeSteps) {
                for (int i = 0; i < n; i++) {
                    logits[i] = (float) (random.nextGaussian() * 3);
                }
                logits[endToken] += 4; // end when allowed, now and then
                token = sampler.sample(logits, 0, n, null, cursor);
            } else {
                token = steer(cursor, c, endToken, logits);
            }
            if (token == endToken) {
                return new ConstrainedWalk(out.toString(StandardCharsets.UTF_8), true);
            }
            cursor.advance(token);
            out.writeBytes(vocab.bytes(token));
        }
        return new ConstrainedWalk(out.toString(StandardCharsets.UTF_8), false);
    }

    private static int steer(ConstraintCursor cursor, TokenConstraint c, int endToken, float[] logits) {
        Arrays.fill(logits, 0f);
        cursor.process(logits, logits.length);
        if (logits[endToken] == 0f) {
            return endToken;
        }
        int best = -1;
        int bestDistance = Integer.MAX_VALUE;
        for (int id = 0; id < logits.length; id++) {
            if (logits[id] != 0f) {
                continue;
            }
            int s = walk(c, cursor.state(), id);
            if (s >= 0 && c.automaton().minBytesToAccept(s) < bestDistance) {
                bestDistance = c.automaton().minBytesToAccept(s);
                best = id;
            }
        }
        return best;
    }

    private static int walk(TokenConstraint c, int state, int token) {
        int s = state;
        for (byte b : c.vocabulary().bytes(token)) {
            s = c.automaton().next(s, b);
            if (s == ByteAutomaton.DEAD) {
                return -1;
            }
        }
        return s;
    }
}
