package io.tessera.core.arch;

import io.tessera.core.arch.gemma3.Gemma3;
import io.tessera.core.arch.llama.Llama;
import io.tessera.core.arch.olmoe.Olmoe;
import io.tessera.core.arch.phi3.Phi3;
import io.tessera.core.arch.qwen2.Qwen2;
import io.tessera.core.arch.qwen2.Qwen2Moe;
import io.tessera.core.arch.qwen3.Qwen3;
import io.tessera.core.arch.qwen3.Qwen3Moe;
import java.util.List;
import java.util.Optional;

/**
 * The one table of model families Tessera runs (the role of llama.cpp's {@code llama-arch.cpp}).
 * A new family is a package under {@code io.tessera.core.arch} with an {@link Architecture}, added
 * here.
 */
public final class Architectures {

    private static final List<Architecture> ALL = List.of(new Llama(), new Qwen2(), new Qwen3(), new Gemma3(), new Phi3(),
            new Qwen2Moe(), new Qwen3Moe(), new Olmoe());

    private Architectures() {
    }

    public static List<Architecture> all() {
        return ALL;
    }

    /** The family that runs GGUF files of this {@code general.architecture}. */
    public static Optional<Architecture> forGguf(String name) {
        return ALL.stream().filter(a -> a.ggufNames().contains(name)).findFirst();
    }

    /** The family of a Hugging Face {@code config.json} {@code architectures} entry. */
    public static Optional<Architecture> forHuggingFace(String name) {
        return ALL.stream().filter(a -> a.huggingFaceNames().contains(name)).findFirst();
    }

    /** The family of a GGUF architecture name; an unknown one is refused with the list of known ones. */
    public static Architecture named(String ggufName) {
        return forGguf(ggufName).orElseThrow(() -> new IllegalArgumentException(
                "architecture '" + ggufName + "' is not supported (supported: " + String.join(", ", ggufNames()) + ")"));
    }

    /** Every GGUF architecture name some family runs. */
    public static List<String> ggufNames() {
        return ALL.stream().flatMap(a -> a.ggufNames().stream()).toList();
    }
}
