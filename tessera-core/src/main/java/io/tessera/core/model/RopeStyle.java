package io.tessera.core.model;

/** How rotary position embeddings pair up the dimensions of a head. */
public enum RopeStyle {
    /** Adjacent pairs (2i, 2i+1): Llama GGUF files and llama2.c checkpoints. */
    INTERLEAVED,
    /** Dimension i paired with i + headDim/2 ("NeoX" style): Qwen2 and most Hugging Face checkpoints. */
    NEOX
}
