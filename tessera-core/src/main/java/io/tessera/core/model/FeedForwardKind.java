package io.tessera.core.model;

/** The gated feed-forward block's activation: {@code down(act(gate(x)) ⊙ up(x))}. */
public enum FeedForwardKind {
    /** SiLU gating (Llama, Mistral, Qwen). */
    SWIGLU,
    /** GELU gating, tanh approximation (Gemma). */
    GEGLU
}
