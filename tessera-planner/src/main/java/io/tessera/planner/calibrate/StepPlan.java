package io.tessera.planner.calibrate;

import io.tessera.planner.cost.Batch;
import java.util.Arrays;

/**
 * One engine step to time: prefill chunks ({@code chunk[i]} new tokens after {@code cached[i]}
 * already in the cache) and decodes (one new token each, attending to {@code decodeContext[j]}
 * tokens including itself). {@code layers}, when positive, runs only the model's first layers: a
 * calibration varies the depth to separate per-step from per-layer costs.
 */
public record StepPlan(String name, int[] cached, int[] chunk, int[] decodeContext, int layers) {

    public StepPlan(String name, int[] cached, int[] chunk, int[] decodeContext) {
        this(name, cached, chunk, decodeContext, 0);
    }

    /** This step through the first {@code n} layers only. */
    public StepPlan withLayers(int n) {
        return new StepPlan(name + " (" + n + " layers)", cached, chunk, decodeContext, n);
    }

    public StepPlan {
        if (cached.length != chunk.length) {
            throw new IllegalArgumentException("cached and chunk need the same length");
        }
        cached = cached.clone();
        chunk = chunk.clone();
        decodeContext = decodeContext.clone();
    }

    public static StepPlan decode(int batch, int context) {
        int[] ctx = new int[batch];
        Arrays.fill(ctx, context);
        return new StepPlan("decode b=" + batch + " ctx=" + context, new int[0], new int[0], ctx);
    }

    public static StepPlan prefill(int tokens, int cached) {
        return new StepPlan("prefill " + tokens + (cached > 0 ? " after " + cached : ""), new int[] {cached},
                new int[] {tokens}, new int[0]);
    }

    public static StepPlan mixed(int prefillTokens, int decodes, int context) {
        int[] ctx = new int[decodes];
        Arrays.fill(ctx, context);
        return new StepPlan("prefill " + prefillTokens + " + " + decodes + " decodes ctx=" + context,
                new int[] {0}, new int[] {prefillTokens}, ctx);
    }

    public int tokens() {
        return Arrays.stream(chunk).sum() + decodeContext.length;
    }

    /** The longest context any sequence of the step reaches. */
    public int maxContext() {
        int m = 0;
        for (int i = 0; i < chunk.length; i++) {
            m = Math.max(m, cached[i] + chunk[i]);
        }
        for (int c : decodeContext) {
            m = Math.max(m, c);
        }
        return m;
    }

    public Batch toBatch() {
        Batch b = new Batch();
        for (int i = 0; i < chunk.length; i++) {
            b.addPrefill(cached[i], chunk[i], true);
        }
        for (int c : decodeContext) {
            b.addDecode(c);
        }
        return b;
    }
}
