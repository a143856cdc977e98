package io.tessera.core.model;

/**
 * How a mixture-of-experts router turns its logits into expert probabilities, llama.cpp's
 * {@code <arch>.expert_gating_func} (its {@code llama_expert_gating_func_type} numbering).
 */
public enum ExpertGating {
    /** Softmax over all experts (Mixtral, Qwen MoE, OLMoE). */
    SOFTMAX(1),
    /** Each expert's logit through a sigmoid on its own (DeepSeek V3 style). */
    SIGMOID(2);

    /** The value of the GGUF key. */
    public final int ggufValue;

    ExpertGating(int ggufValue) {
        this.ggufValue = ggufValue;
    }

    /** The gating of a GGUF key's value; an unknown one is refused naming the known ones. */
    public static ExpertGating ofGguf(long value) {
        for (ExpertGating g : values()) {
            if (g.ggufValue == value) {
                return g;
            }
        }
        throw new IllegalArgumentException("expert gating function " + value
                + " is not supported (supported: 1 softmax, 2 sigmoid)");
    }
}
